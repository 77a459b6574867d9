// Package audit is sov's tamper-evident audit log: an append-only record
// of admin actions and inference requests in SOV_HOME/audit.db.
//
// Every entry carries the SHA-256 of its canonical encoding and of the
// entry before it, so that editing, deleting, inserting or reordering
// entries breaks the chain; Verify walks the chain and says where it
// breaks. Checkpoints signed with an Ed25519 key (SOV_HOME/audit.key) pin
// the chain's head from time to time, so that rewriting the whole chain
// from some point on, or cutting off its tail, is caught too.
// docs/design/audit.md specifies the exact bytes hashed and signed, and
// what Verify can and cannot detect.
//
// Log appends synchronously (the CLI); Writer takes entries from request
// handlers without ever blocking them and writes them in batches in the
// background (the server). Several processes may append to one file.
//
// The package records what callers give it and must not decide what is
// logged: whether prompt or output content appears is the caller's choice
// (off by default). It never rewrites or deletes entries, and it never
// builds SQL from entry content.
package audit

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Entry kinds written by sov. Kind is open-ended: any name of lowercase
// letters, digits and ".", "_", "-" is accepted.
const (
	KindKeyCreate    = "key.create"
	KindKeyRevoke    = "key.revoke"
	KindModelAdd     = "model.add"
	KindModelRemove  = "model.remove"
	KindConfigChange = "config.change"
	KindServeStart   = "serve.start"
	KindServeStop    = "serve.stop"
	KindInference    = "inference"
	// KindDropped records that a Writer had to drop entries (its buffer
	// was full); its data says how many and when.
	KindDropped = "audit.dropped"
)

// Limits on an entry, checked by Append and Record.
const (
	MaxKindLen  = 64
	MaxActorLen = 256
	// MaxDataLen bounds an entry's encoded data. It is large so that
	// logged content (when the owner turns that on) fits.
	MaxDataLen = 16 << 20
)

// Data is an entry's fields: a JSON object. Values may be anything
// encoding/json can encode; they are stored in canonical JSON, so what
// Entries returns holds only strings, json.Number, bools, nil, []any and
// map[string]any.
type Data map[string]any

// Entry is one record of the log.
type Entry struct {
	// Seq numbers entries 1, 2, 3 … with no gaps. Set by the log.
	Seq int64
	// Time is when the event happened, stored in UTC with nanoseconds.
	// Zero means "now" when the entry is appended or recorded.
	Time time.Time
	// Kind says what happened, e.g. KindInference.
	Kind string
	// Actor is who did it: a key id, or "cli:<user>" for the CLI.
	Actor string
	// Data holds the event's fields. Nil and empty are the same.
	Data Data
	// PrevHash and Hash chain the entry (lowercase hex SHA-256). Set by
	// the log; ignored when appending.
	PrevHash string
	Hash     string
}

// Decisions written in an inference entry's "decision" field.
const DecisionAllowed = "allowed"

// Denied is the decision for a request refused for reason (say
// "rate_limit" or "residency").
func Denied(reason string) string { return "denied:" + reason }

// Inference is what the gateway records about one inference request. It
// holds no prompt or output unless Content is set, which the gateway does
// only when the owner turns content logging on.
type Inference struct {
	KeyID     string
	Tenant    string
	Model     string
	Backend   string
	Endpoint  string
	TokensIn  int64
	TokensOut int64
	Latency   time.Duration
	Status    int    // HTTP status sent to the client
	Decision  string // DecisionAllowed or Denied(reason)
	RequestID string
	Content   any // optional; any JSON-encodable value
}

// Data returns the entry fields for in: key_id, tenant, model, backend,
// endpoint, tokens_in, tokens_out, latency_ms (with microseconds),
// status, decision, request_id, and content only when set.
func (in Inference) Data() Data {
	d := Data{
		"key_id":     in.KeyID,
		"tenant":     in.Tenant,
		"model":      in.Model,
		"backend":    in.Backend,
		"endpoint":   in.Endpoint,
		"tokens_in":  in.TokensIn,
		"tokens_out": in.TokensOut,
		"latency_ms": float64(in.Latency.Microseconds()) / 1000,
		"status":     in.Status,
		"decision":   in.Decision,
		"request_id": in.RequestID,
	}
	if in.Content != nil {
		d["content"] = in.Content
	}
	return d
}

// ErrClosed is returned by a Log or Writer used after Close.
var ErrClosed = errors.New("audit log is closed")

// checkKind reports whether k is a valid entry kind.
func checkKind(k string) error {
	if k == "" {
		return errors.New("entry kind is empty")
	}
	if len(k) > MaxKindLen {
		return fmt.Errorf("entry kind is %d bytes, more than %d", len(k), MaxKindLen)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("entry kind %q: byte %d (%q) is not a lowercase letter, digit, '.', '_' or '-'", k, i, c)
		}
	}
	return nil
}

// checkActor reports whether a is a valid actor: non-empty UTF-8 text
// with no control characters.
func checkActor(a string) error {
	if a == "" {
		return errors.New("entry actor is empty")
	}
	if len(a) > MaxActorLen {
		return fmt.Errorf("entry actor is %d bytes, more than %d", len(a), MaxActorLen)
	}
	if !utf8.ValidString(a) {
		return fmt.Errorf("entry actor %q is not valid UTF-8", a)
	}
	for _, r := range a {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("entry actor %q contains a control character", a)
		}
	}
	return nil
}

// prepared is an entry ready to be chained: its fields in the exact form
// that is hashed and stored.
type prepared struct {
	time  string
	kind  string
	actor string
	data  string
}

// prepare validates e and encodes its fields. now fills a zero Time.
func prepare(e Entry, now time.Time) (prepared, error) {
	if err := checkKind(e.Kind); err != nil {
		return prepared{}, err
	}
	if err := checkActor(e.Actor); err != nil {
		return prepared{}, fmt.Errorf("entry %s: %w", e.Kind, err)
	}
	t := e.Time
	if t.IsZero() {
		t = now
	}
	ts, err := formatTime(t)
	if err != nil {
		return prepared{}, fmt.Errorf("entry %s: %w", e.Kind, err)
	}
	data, err := canonicalData(e.Data)
	if err != nil {
		return prepared{}, fmt.Errorf("entry %s: %w", e.Kind, err)
	}
	if len(data) > MaxDataLen {
		return prepared{}, fmt.Errorf("entry %s: data is %d bytes encoded, more than %d", e.Kind, len(data), MaxDataLen)
	}
	return prepared{time: ts, kind: e.Kind, actor: e.Actor, data: string(data)}, nil
}
