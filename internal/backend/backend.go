// Package backend declares what the gateway routes inference requests to: a
// Backend serves some models, carries location labels (site, jurisdiction)
// for data-residency routing, and answers OpenAI-shaped requests.
//
// Implementations live in sibling packages named by mechanism: runner (the
// embedded engine, models from the vault) and upstream (OpenAI-compatible
// servers the owner runs: llama-server, vLLM, Ollama, TGI, another sov).
// This package holds only the contract; it does no I/O and must not depend
// on any implementation.
package backend

import (
	"context"
	"errors"

	"sov.dev/sov/internal/openai"
)

// Endpoint names the OpenAI operation a request is for.
type Endpoint string

const (
	Chat       Endpoint = "chat.completions" // POST /v1/chat/completions
	Completion Endpoint = "completions"      // POST /v1/completions
	Embedding  Endpoint = "embeddings"       // POST /v1/embeddings
)

// Labels locate a backend. The router never sends a request to a backend
// whose Jurisdiction is outside the set the caller's key allows.
type Labels struct {
	Site         string // free-form: a data centre, a rack, "local"
	Jurisdiction string // e.g. "eu", "de", "ch", "us"; empty means unlabelled
}

// Model is one model a backend serves.
type Model struct {
	ID      string // the name clients send in "model"
	Created int64  // Unix seconds, when known
	OwnedBy string
	// Unavailable, when not empty, says why the model cannot be served now
	// (e.g. the trust gate has not approved it). Such a model is routed —
	// Do refuses it with that reason — but not listed to clients.
	Unavailable string
}

// Request is one inference call. Exactly one of Chat, Completion and
// Embedding is set, matching Endpoint; Body is the client's JSON body as
// received (already validated into the parsed form), so that pass-through
// backends can forward fields the gateway does not model.
type Request struct {
	Endpoint   Endpoint
	Model      string
	Body       []byte
	Chat       *openai.ChatCompletionRequest
	Completion *openai.CompletionRequest
	Embedding  *openai.EmbeddingRequest

	// Stream is true when the client asked for server-sent events.
	Stream bool
	// IncludeUsage is true when the client asked for the final usage chunk
	// (stream_options.include_usage). Backends always obtain exact usage
	// (asking upstreams for it) and report it through Output.Usage, but emit
	// the usage-only chunk to the client only when IncludeUsage is set.
	IncludeUsage bool

	RequestID string // the gateway's x-request-id, to forward upstream
	KeyID     string // who asked (for fair queueing); never forwarded
	Tenant    string
}

// Output receives a backend's answer. Its methods are called from the
// goroutine running Do, never concurrently.
type Output interface {
	// Data delivers the answer: for a stream, the JSON payload of one
	// server-sent event (without "data: " and without the final [DONE],
	// which the gateway writes); otherwise the whole JSON response body,
	// once. After the first Data call the request can no longer fail over
	// to another backend. An error means the client has gone: stop.
	Data(payload []byte) error
	// Usage reports the exact token counts, once, before Do returns
	// successfully.
	Usage(u openai.Usage)
}

// Backend serves models. Implementations are safe for concurrent use.
type Backend interface {
	// Name identifies the backend in logs, metrics and audit entries.
	Name() string
	// Labels says where the backend runs.
	Labels() Labels
	// Models lists the models the backend serves now.
	Models(ctx context.Context) ([]Model, error)
	// Do answers req, writing to out. It returns an *openai.APIError for
	// errors the client should see as they are (bad request, context too
	// long); an error wrapping ErrUnavailable when the backend could not
	// answer and nothing was written to out, so that the router may try
	// another backend; and ctx's error when the client went away.
	Do(ctx context.Context, req *Request, out Output) error
	// Healthy reports whether the backend is believed able to serve now
	// (for /readyz and metrics); it does no I/O.
	Healthy() bool
}

// ErrUnavailable marks failures another backend might not have: connection
// refused or reset, timeouts before the first byte, 5xx answers, an open
// circuit breaker, a full queue.
var ErrUnavailable = errors.New("backend unavailable")

// ErrUnknownModel is returned (wrapped) by Do when the backend does not
// serve the requested model.
var ErrUnknownModel = errors.New("model not served by this backend")
