package gateway_test

import (
	"strings"
	"testing"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// TestGatewayAsUpstream puts one gateway in front of another, as an owner
// would chain two sites: the outer one reaches the inner one with its own
// key (never the client's), and usage stays exact through both.
func TestGatewayAsUpstream(t *testing.T) {
	const reply = "answer from the inner site"
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: reply})
	inner := newHarness(t, setup{backends: backends(served(t, "origin", "de", up, "m"))})
	innerKey := inner.key(keys.CreateOptions{Name: "outer-site"})
	outer := newHarness(t, setup{backends: backends(upstreamBackend(t, upstream.Config{
		Name: "inner", URLs: []string{inner.url + "/v1"}, APIKey: innerKey,
		Labels: backend.Labels{Site: "frankfurt", Jurisdiction: "eu"},
	}))})
	secret := outer.key(keys.CreateOptions{Name: "client", Jurisdictions: []string{"eu"}})

	// The inner gateway's models are discovered through its /v1/models.
	resp, body := outer.do("GET", "/v1/models", secret, nil)
	if ids := modelIDs(t, body); resp.StatusCode != 200 || len(ids) != 1 || ids[0] != "m" {
		t.Fatalf("models: %d %s", resp.StatusCode, body)
	}

	resp, body = outer.chat(secret, chatBody("m", "one two", ""))
	if resp.StatusCode != 200 || replyOf(t, body) != reply {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	resp, body = outer.chat(secret, chatBody("m", "one two", `,"stream":true`))
	if resp.StatusCode != 200 {
		t.Fatalf("stream: %d %s", resp.StatusCode, body)
	}
	events := readSSE(t, body)
	if events[len(events)-1] != "[DONE]" || streamText(t, events) != reply || strings.Contains(string(body), `"usage"`) {
		t.Errorf("stream: %s", body)
	}
	for name, h := range map[string]*harness{"outer": outer, "inner": inner} {
		eventually(t, name+" to record both requests", func() bool {
			n := 0
			for _, e := range h.audit.all() {
				if e.kind == "inference" {
					n++
				}
			}
			return n == 2
		})
	}

	// The client's secret never left the outer gateway.
	for _, e := range inner.audit.all() {
		if e.kind == "inference" && e.actor == "" {
			t.Errorf("the inner gateway saw an unauthenticated request: %v", e.data)
		}
	}
	for _, r := range up.Requests() {
		if strings.Contains(r.Header.Get("Authorization"), secret) {
			t.Error("the client's key reached the origin")
		}
	}
	// Two requests of 2 prompt and 5 completion tokens, counted alike on
	// both sites.
	for name, h := range map[string]*harness{"outer": outer, "inner": inner} {
		scrape := h.metrics()
		p := metric(scrape, "sov_tokens_total", map[string]string{"model": "m", "kind": "prompt"})
		c := metric(scrape, "sov_tokens_total", map[string]string{"model": "m", "kind": "completion"})
		if p != 4 || c != 10 {
			t.Errorf("%s: tokens %v prompt, %v completion; want 4 and 10", name, p, c)
		}
	}
}
