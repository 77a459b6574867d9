package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

func TestAuth(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "ok"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})
	inference := h.key(keys.CreateOptions{Name: "app"})
	revoked := h.key(keys.CreateOptions{Name: "gone"})
	if _, err := h.mgr.Revoke(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	// Well-formed secrets that no key has.
	unknownInference := "sov-" + strings.Repeat("A", 43)
	unknownAdmin := "sovadm-" + strings.Repeat("A", 43)
	chat := chatBody("m", "hi", "")

	tests := []struct {
		name         string
		method, path string
		header       []string // raw headers instead of a bearer secret
		secret       string
		status       int
		typ, code    string
	}{
		{"missing", "POST", "/v1/chat/completions", nil, "", 401, "invalid_request_error", "missing_api_key"},
		{"empty bearer", "POST", "/v1/chat/completions", []string{"Authorization", "Bearer "}, "", 401, "invalid_request_error", "missing_api_key"},
		{"basic scheme", "POST", "/v1/chat/completions", []string{"Authorization", "Basic " + inference}, "", 401, "invalid_request_error", "missing_api_key"},
		{"malformed", "POST", "/v1/chat/completions", nil, "not-a-key", 401, "invalid_request_error", "invalid_api_key"},
		{"truncated", "POST", "/v1/chat/completions", nil, inference[:len(inference)-1], 401, "invalid_request_error", "invalid_api_key"},
		{"wrong", "POST", "/v1/chat/completions", nil, unknownInference, 401, "invalid_request_error", "invalid_api_key"},
		{"wrong admin", "GET", "/admin/v1/keys", nil, unknownAdmin, 401, "invalid_request_error", "invalid_api_key"},
		{"revoked", "POST", "/v1/chat/completions", nil, revoked, 401, "invalid_request_error", "invalid_api_key"},
		{"admin key on chat", "POST", "/v1/chat/completions", nil, h.admin, 403, "permission_error", "inference_key_required"},
		{"admin key on models", "GET", "/v1/models", nil, h.admin, 403, "permission_error", "inference_key_required"},
		{"admin key on embeddings", "POST", "/v1/embeddings", nil, h.admin, 403, "permission_error", "inference_key_required"},
		{"inference key on admin list", "GET", "/admin/v1/keys", nil, inference, 403, "permission_error", "admin_key_required"},
		{"inference key on admin create", "POST", "/admin/v1/keys", nil, inference, 403, "permission_error", "admin_key_required"},
		{"inference key on admin revoke", "DELETE", "/admin/v1/keys/app", nil, inference, 403, "permission_error", "admin_key_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.method == "POST" {
				body = chat
			}
			resp, b := h.do(tt.method, tt.path, tt.secret, body, tt.header...)
			wantError(t, resp, b, tt.status, tt.typ, tt.code)
			if tt.status == 401 && strings.HasPrefix(tt.path, "/v1/chat") {
				// Failed authentication is audited, with the caller's address.
				e := h.audit.inference(t, resp.Header.Get("X-Request-Id"))
				if e.actor != "anonymous" || e.data["decision"] != "denied:auth" || e.data["remote"] == "" || e.data["remote"] == nil {
					t.Errorf("audit entry: actor %q, data %v", e.actor, e.data)
				}
			}
			if strings.Contains(string(b), inference) || strings.Contains(string(b), h.admin) {
				t.Errorf("the error echoes a secret: %s", b)
			}
		})
	}
	if n := len(up.RequestsTo("/v1/chat/completions")); n != 0 {
		t.Errorf("the upstream received %d requests from unauthenticated callers", n)
	}
	// The valid key works; the inference key still exists after the
	// refused admin revoke.
	for _, hdr := range [][]string{
		{"Authorization", "Bearer " + inference},
		{"Authorization", "bearer " + inference},
		{"Api-Key", inference},
	} {
		resp, b := h.do("POST", "/v1/chat/completions", "", chat, hdr...)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d: %s", hdr[0], resp.StatusCode, b)
		}
	}
	if got := metric(h.metrics(), "sov_denied_total", map[string]string{"reason": "auth"}); got != float64(len(tests)) {
		t.Errorf("sov_denied_total{reason=auth} = %v, want %d", got, len(tests))
	}
}

// TestRevokeTakesEffectAtOnce revokes a key between two requests, without
// waiting for anything.
func TestRevokeTakesEffectAtOnce(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "ok"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})
	for _, via := range []string{"manager", "admin api"} {
		t.Run(via, func(t *testing.T) {
			secret := h.key(keys.CreateOptions{Name: "victim"})
			if resp, b := h.chat(secret, chatBody("m", "hi", "")); resp.StatusCode != 200 {
				t.Fatalf("before: status %d: %s", resp.StatusCode, b)
			}
			if via == "manager" {
				if _, err := h.mgr.Revoke(context.Background(), "victim"); err != nil {
					t.Fatal(err)
				}
			} else if resp, b := h.do("DELETE", "/admin/v1/keys/victim", h.admin, nil); resp.StatusCode != 200 {
				t.Fatalf("revoke: status %d: %s", resp.StatusCode, b)
			}
			resp, b := h.chat(secret, chatBody("m", "hi", ""))
			wantError(t, resp, b, 401, "invalid_request_error", "invalid_api_key")
			resp, b = h.do("GET", "/v1/models", secret, nil)
			wantError(t, resp, b, 401, "invalid_request_error", "invalid_api_key")
		})
	}
}
