package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"sov.dev/sov/internal/audit"
	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// benchChat is a small chat completion, about the size the gateway
// benchmark (bench/gateway) sends.
var benchChat = []byte(`{"model":"m","messages":[{"role":"system","content":"You are terse."},` +
	`{"role":"user","content":"` + strings.Repeat("hello there ", 10) + `"}],"max_tokens":16}`)

// BenchmarkChat is one non-streamed chat completion through the gateway at
// a time, end to end over loopback: the client, the gateway (key cache,
// routing, the audit writer on a real log) and the test upstream all run in
// this process, so a CPU profile shows the gateway's share of the path.
func BenchmarkChat(b *testing.B) {
	for _, stream := range []bool{false, true} {
		name := "plain"
		body := benchChat
		if stream {
			name = "stream"
			body = bytes.Replace(benchChat, []byte(`"max_tokens":16`), []byte(`"max_tokens":16,"stream":true`), 1)
		}
		b.Run(name, func(b *testing.B) {
			u := newUpstream(b, upstreamtest.Options{Models: []string{"m"}, Reply: "ok", MaxRecorded: -1})
			alog, err := audit.Open(context.Background(), b.TempDir(), audit.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { alog.Close() })
			aw := audit.NewWriter(alog, audit.WriterOptions{})
			b.Cleanup(func() { aw.Close(context.Background()) })
			h := newHarness(b, setup{backends: backends(served(b, "up", "eu", u, "m")), quiet: true,
				audit: func(kind, actor string, data map[string]any) {
					aw.Record(audit.Entry{Kind: kind, Actor: actor, Data: data})
				}})
			secret := h.key(keys.CreateOptions{Name: "bench"})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			req := func() {
				r, err := http.NewRequest(http.MethodPost, h.url+"/v1/chat/completions", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				r.Header.Set("Authorization", "Bearer "+secret)
				r.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(r)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			req()
			b.ReportAllocs()
			for b.Loop() {
				req()
			}
		})
	}
}
