package gateway_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/limits"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// admitter adapts the real limits.Limiter to gateway.Options.Admit, the
// way `sov serve` does.
func admitter(l *limits.Limiter) func(*keys.Key, int64) (func(int64), *limits.Denial) {
	return func(k *keys.Key, estimate int64) (func(int64), *limits.Denial) {
		t, d := l.Acquire(k, estimate, time.Now())
		if d != nil {
			return nil, d
		}
		return func(used int64) { t.Release(used, time.Now()) }, nil
	}
}

func TestRateLimits(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "one two"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m")), admit: admitter(limits.New())})
	rpm := h.key(keys.CreateOptions{Name: "rpm", RPM: 2})
	tpm := h.key(keys.CreateOptions{Name: "tpm", TPM: 100})
	free := h.key(keys.CreateOptions{Name: "free"})

	wantLimited := func(t *testing.T, resp *http.Response, body []byte, limit string) {
		t.Helper()
		_, msg := wantError(t, resp, body, 429, "rate_limit_error", "rate_limit_exceeded")
		if msg == "" {
			t.Error("no message")
		}
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 61 {
			t.Errorf("retry-after = %q", resp.Header.Get("Retry-After"))
		}
		if ms, err := strconv.Atoi(resp.Header.Get("Retry-After-Ms")); err != nil || ms < 1 || ms > ra*1000 {
			t.Errorf("retry-after-ms = %q with retry-after %d", resp.Header.Get("Retry-After-Ms"), ra)
		}
		if got := resp.Header.Get("X-Should-Retry"); got != "true" {
			t.Errorf("x-should-retry = %q", got)
		}
		e := h.audit.inference(t, resp.Header.Get("X-Request-Id"))
		if e.data["decision"] != "denied:"+limit || e.data["status"] != 429 {
			t.Errorf("audit record %v", e.data)
		}
	}

	t.Run("rpm", func(t *testing.T) {
		up.ResetRequests()
		for i := range 2 {
			if resp, b := h.chat(rpm, chatBody("m", "hi", "")); resp.StatusCode != 200 {
				t.Fatalf("request %d: status %d: %s", i+1, resp.StatusCode, b)
			}
		}
		resp, body := h.chat(rpm, chatBody("m", "hi", ""))
		wantLimited(t, resp, body, "rpm")
		if n := len(up.RequestsTo("/v1/chat/completions")); n != 2 {
			t.Errorf("the upstream got %d requests, want 2", n)
		}
		// Other keys are not affected.
		if resp, b := h.chat(free, chatBody("m", "hi", "")); resp.StatusCode != 200 {
			t.Errorf("another key: status %d: %s", resp.StatusCode, b)
		}
	})

	t.Run("tpm", func(t *testing.T) {
		// The reservation (prompt estimate + max_tokens) takes the whole
		// minute; the second request does not fit in what is left after
		// the first settled at its actual usage.
		body := chatBody("m", "hi", `,"max_tokens":90`)
		if resp, b := h.chat(tpm, body); resp.StatusCode != 200 {
			t.Fatalf("first: status %d: %s", resp.StatusCode, b)
		}
		resp, b := h.chat(tpm, body)
		wantLimited(t, resp, b, "tpm")
	})

	t.Run("concurrency", func(t *testing.T) {
		one := h.key(keys.CreateOptions{Name: "one-at-a-time", MaxConcurrency: 1})
		up.Hang(true)
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "POST", h.url+"/v1/chat/completions", strings.NewReader(chatBody("m", "hi", "")))
			req.Header.Set("Authorization", "Bearer "+one)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			first <- err
		}()
		eventually(t, "the first request to reach the upstream", func() bool { return up.Active() == 1 })
		resp, body := h.chat(one, chatBody("m", "hi", ""))
		wantError(t, resp, body, 429, "rate_limit_error", "rate_limit_exceeded")
		if got := resp.Header.Get("X-Should-Retry"); got != "true" {
			t.Errorf("x-should-retry = %q", got)
		}
		// The first client leaves: its slot is released.
		up.Hang(false)
		cancel()
		if err := <-first; err == nil {
			t.Error("the hung request was answered")
		}
		eventually(t, "the upstream to be idle", func() bool { return up.Active() == 0 })
		eventually(t, "the slot to be released", func() bool {
			resp, _ := h.chat(one, chatBody("m", "hi", ""))
			return resp.StatusCode == 200
		})
	})
}

// TestBudget: a key's token budget is charged with the exact usage of
// each request (streams without include_usage too), and once spent the
// key gets 429 insufficient_quota with x-should-retry false.
func TestBudget(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "a b c d e f"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m")), admit: admitter(limits.New())})
	secret := h.key(keys.CreateOptions{Name: "budgeted", TokenBudget: 10, BudgetWindow: time.Hour})

	// 3 prompt + 6 completion tokens: 9 used, under the budget of 10.
	if resp, b := h.chat(secret, chatBody("m", "x y z", "")); resp.StatusCode != 200 {
		t.Fatalf("first: status %d: %s", resp.StatusCode, b)
	}
	// Still under: admitted. The stream did not ask for usage, but it is
	// charged all the same (18 used).
	resp, body := h.chat(secret, chatBody("m", "x y z", `,"stream":true`))
	if resp.StatusCode != 200 {
		t.Fatalf("second: status %d: %s", resp.StatusCode, body)
	}
	// The client may read [DONE] before the gateway settles the usage:
	// wait for the request's end.
	h.audit.inference(t, resp.Header.Get("X-Request-Id"))
	resp, body = h.chat(secret, chatBody("m", "x y z", ""))
	_, msg := wantError(t, resp, body, 429, "insufficient_quota", "insufficient_quota")
	if msg == "" {
		t.Error("no message")
	}
	if got := resp.Header.Get("X-Should-Retry"); got != "false" {
		t.Errorf("x-should-retry = %q, want false", got)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
		t.Errorf("retry-after = %q", resp.Header.Get("Retry-After"))
	}
	if n := len(up.RequestsTo("/v1/chat/completions")); n != 2 {
		t.Errorf("the upstream got %d requests, want 2", n)
	}
	if got := metric(h.metrics(), "sov_denied_total", map[string]string{"reason": "budget"}); got != 1 {
		t.Errorf("sov_denied_total{reason=budget} = %v", got)
	}
}

// TestRevokedAtAdmission: a key revoked between authentication and the
// limits check is refused as an invalid key (401), not as a rate limit.
func TestRevokedAtAdmission(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "ok"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m")),
		admit: func(k *keys.Key, _ int64) (func(int64), *limits.Denial) {
			return nil, &limits.Denial{Limit: limits.Revoked, Message: "key " + k.Name + " is revoked"}
		}})
	secret := h.key(keys.CreateOptions{Name: "app"})
	resp, b := h.chat(secret, chatBody("m", "hi", ""))
	wantError(t, resp, b, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key")
	if resp.Header.Get("Retry-After") != "" {
		t.Errorf("retry-after on a revoked key: %q", resp.Header.Get("Retry-After"))
	}
	if e := h.audit.inference(t, resp.Header.Get("X-Request-Id")); e.data["decision"] != "denied:revoked" {
		t.Errorf("decision %v", e.data["decision"])
	}
	if n := len(up.RequestsTo("/v1/chat/completions")); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
}
