package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/openai"
)

// record is what the gateway remembers about one inference request, for
// metrics and the audit log.
type record struct {
	start     time.Time
	remote    string // the client's address
	requestID string
	endpoint  string
	key       *keys.Key
	model     string
	routed    bool // the model is known (safe as a metric label)
	backend   string
	status    int
	decision  string
	errText   string
	usage     openai.Usage
	ttft      time.Duration

	request, response []byte // only when content logging is on
}

func (r *record) fail(err error, decision string) {
	r.decision = decision
	r.status = http.StatusInternalServerError
	var ae *openai.APIError
	if errors.As(err, &ae) {
		r.status = ae.Status
		r.errText = ae.Message
	} else if err != nil {
		r.errText = err.Error()
	}
}

// finish records the request in metrics and the audit log.
func (s *Server) finish(r *record) {
	latency := time.Since(r.start)
	model := ""
	if r.routed {
		model = r.model
	}
	s.metrics.observe(r, model, latency)
	data := map[string]any{
		"request_id": r.requestID,
		"endpoint":   r.endpoint,
		"model":      r.model,
		"backend":    r.backend,
		"status":     r.status,
		"decision":   r.decision,
		"tokens_in":  r.usage.PromptTokens,
		"tokens_out": r.usage.CompletionTokens,
		"latency_ms": float64(latency.Microseconds()) / 1000,
	}
	// A request refused before a key was known is audited too (failed
	// authentication is what an audit is for), under an actor no key
	// can have, with the address it came from.
	actor := anonymous
	if r.key != nil {
		actor = r.key.ID
		data["key_id"] = r.key.ID
		data["tenant"] = r.key.Tenant
	} else {
		data["remote"] = r.remote
	}
	if r.ttft > 0 {
		data["ttft_ms"] = float64(r.ttft.Microseconds()) / 1000
	}
	if r.errText != "" {
		data["error"] = r.errText
	}
	if r.request != nil {
		data["request"] = string(r.request)
		data["response"] = string(r.response)
	}
	s.opts.Audit("inference", actor, data)
	if r.status >= 500 {
		s.log.Warn("request failed", "request_id", r.requestID, "status", r.status, "backend", r.backend, "err", r.errText)
	} else if s.log.Enabled(context.Background(), slog.LevelDebug) { // spares boxing the arguments
		s.log.Debug("request", "request_id", r.requestID, "status", r.status, "model", r.model, "backend", r.backend,
			"latency", latency, "tokens_in", r.usage.PromptTokens, "tokens_out", r.usage.CompletionTokens, "decision", r.decision)
	}
}

// anonymous is the audit actor of requests without a valid key.
const anonymous = "anonymous"

func statusLabel(code int) string { return strconv.Itoa(code) }
