package gateway_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// FuzzInference sends arbitrary bodies to the inference endpoints of a
// gateway in front of a healthy upstream. Whatever the body, the answer is
// a success in the endpoint's format or a client error in OpenAI's shape:
// never a panic, never a 5xx, always an x-request-id.
func FuzzInference(f *testing.F) {
	up := newUpstream(f, upstreamtest.Options{Models: []string{"m"}, Reply: "fuzzed reply", MaxRecorded: -1})
	h := newHarness(f, setup{backends: backends(served(f, "up", "", up, "m")), maxBody: 1 << 16})
	secret := h.key(keys.CreateOptions{Name: "fuzz"})
	handler := h.srv.Handler()
	paths := []string{"/v1/chat/completions", "/v1/completions", "/v1/embeddings"}

	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		path := paths[int(endpoint)%len(paths)]
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		resp := rec.Result()
		out := rec.Body.Bytes()

		if id := resp.Header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") {
			t.Errorf("x-request-id %q", id)
		}
		switch {
		case resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == "text/event-stream":
			if !bytes.HasSuffix(out, []byte("data: [DONE]\n\n")) {
				t.Errorf("a stream that does not end with [DONE]: %q", out)
			}
		case resp.StatusCode == http.StatusOK:
			if !json.Valid(out) || out[0] != '{' {
				t.Errorf("a 200 that is not a JSON object: %q", out)
			}
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			var e struct {
				Error *struct {
					Message string `json:"message"`
					Type    string `json:"type"`
				} `json:"error"`
			}
			if err := json.Unmarshal(out, &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("status %d with a body not in OpenAI's shape: %q", resp.StatusCode, out)
			}
		default:
			t.Errorf("status %d for body %q: %s", resp.StatusCode, body, out)
		}
	})
}
