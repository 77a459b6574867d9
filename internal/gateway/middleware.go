package gateway

import (
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/openai"
)

// withRequestID gives every request an id, returned in x-request-id. The
// handlers read it back from the response header (requestID), which costs
// no copy of the request.
func (s *Server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["X-Request-Id"] = []string{s.ids.next()}
		next.ServeHTTP(w, r)
	})
}

func requestID(w http.ResponseWriter) string {
	if v := w.Header()["X-Request-Id"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// idSource makes request ids: "req_" and 24 characters of [0-9a-z] from a
// ChaCha8 stream seeded by crypto/rand, which is as unpredictable as
// reading crypto/rand for each id but needs no system call.
type idSource struct {
	mu  sync.Mutex
	rng *mathrand.ChaCha8
}

func newIDSource() *idSource {
	var seed [32]byte
	rand.Read(seed[:])
	return &idSource{rng: mathrand.NewChaCha8(seed)}
}

func (g *idSource) next() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b [24]byte
	g.mu.Lock()
	g.rng.Read(b[:])
	g.mu.Unlock()
	out := make([]byte, 4+len(b))
	copy(out, "req_")
	for i, c := range b {
		out[4+i] = alphabet[int(c)%len(alphabet)]
	}
	return string(out)
}

// withRecover turns a panic into a 500 without a stack trace for the
// client; the trace goes to the log.
func (s *Server) withRecover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "request_id", requestID(w), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, r, apiError(http.StatusInternalServerError, "server_error", "", "", "The server had an error while processing your request."))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// withCORS answers cross-origin requests from the configured origins only;
// with none configured (the default) no CORS headers are ever sent.
func (s *Server) withCORS(next http.Handler) http.Handler {
	origins := s.opts.CORSOrigins
	if len(origins) == 0 {
		return next
	}
	any := slices.Contains(origins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && (any || slices.Contains(origins, origin)) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "x-request-id, retry-after, x-should-retry")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "authorization, content-type, x-stainless-retry-count, openai-organization, openai-project")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// bearer extracts the API key from "Authorization: Bearer KEY" (or the
// api-key header Azure-style clients send).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return strings.TrimSpace(r.Header.Get("Api-Key"))
}

// authenticate resolves the caller's key. Admin keys are accepted only
// where admin is true, inference keys only where it is false.
func (s *Server) authenticate(r *http.Request, admin bool) (*keys.Key, *openai.APIError) {
	secret := bearer(r)
	if secret == "" {
		return nil, apiError(http.StatusUnauthorized, "invalid_request_error", "missing_api_key",
			"", "You didn't provide an API key. Send it in the Authorization header: Bearer YOUR_KEY.")
	}
	k, err := s.opts.Authenticate(secret)
	if err != nil || k == nil {
		return nil, apiError(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "", "Incorrect API key provided.")
	}
	switch {
	case admin && !k.Admin:
		return nil, apiError(http.StatusForbidden, "permission_error", "admin_key_required", "", "This endpoint needs an admin key; inference keys cannot use it.")
	case !admin && k.Admin:
		return nil, apiError(http.StatusForbidden, "permission_error", "inference_key_required", "", "Admin keys cannot be used for inference; create an inference key with `sov keys create`.")
	}
	return k, nil
}

// authed wraps a handler that needs a key of the given kind.
func (s *Server) authed(admin bool, h func(http.ResponseWriter, *http.Request, *keys.Key)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, aerr := s.authenticate(r, admin)
		if aerr != nil {
			s.metrics.denied("auth")
			writeError(w, r, aerr)
			return
		}
		h(w, r, k)
	})
}

func apiError(status int, typ, code, param, msg string) *openai.APIError {
	e := &openai.APIError{Status: status, Type: typ, Message: msg}
	if code != "" {
		e.Code = &code
	}
	if param != "" {
		e.Param = &param
	}
	return e
}

// writeError writes err as an OpenAI error body (openai.WriteError: an
// *openai.APIError as it is, anything else as a generic 500 whose cause is
// logged, not shown), telling SDKs to retry 429s and 5xx unless a limit
// already said otherwise.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var ae *openai.APIError
	if errors.As(err, &ae) && ae != nil {
		status = ae.HTTPStatus()
	}
	if h := w.Header(); (status == http.StatusTooManyRequests || status >= 500) && h.Get("X-Should-Retry") == "" {
		h.Set("X-Should-Retry", "true")
	}
	openai.WriteError(w, err)
}

// retryAfter sets the headers clients use to pace retries.
func retryAfter(w http.ResponseWriter, d time.Duration, retry bool) {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	w.Header().Set("Retry-After-Ms", fmt.Sprint(max(d.Milliseconds(), 1)))
	w.Header().Set("X-Should-Retry", fmt.Sprint(retry))
}
