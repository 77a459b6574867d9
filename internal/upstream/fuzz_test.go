package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"sov.dev/sov/internal/backend"
)

// FuzzRelayStream feeds arbitrary bytes to the stream relay as an
// upstream's answer. Whatever arrives, it must not panic, must forward only
// JSON objects, must hide usage from a client that did not ask, must report
// usage at most once (exactly once on success), and must offer a retry only
// when nothing reached the client.
func FuzzRelayStream(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1}}\n\ndata: [DONE]\n\n",
		"data: {\"error\":{\"message\":\"boom\"}}\n\ndata: [DONE]\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n",
		"data: {\"choices\":[{\"delta\n\n",
		": comment\r\nevent: x\r\ndata:{\"a\":1}\r\n\r\ndata:[DONE]\r\n\r\n",
		"data: [1,2]\n\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	b := testBackend(f, 1, Config{})
	f.Fuzz(func(t *testing.T, stream []byte, includeUsage bool) {
		ctx := context.Background()
		actx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		firstByte := time.AfterFunc(time.Hour, func() {})
		defer firstByte.Stop()
		var out recorder
		req := &backend.Request{Endpoint: backend.Chat, Stream: true, IncludeUsage: includeUsage}
		res := b.relayStream(ctx, actx, cancel, firstByte, b.replicas[0], req, bytes.NewReader(stream), &out)
		for _, d := range out.data {
			if !json.Valid(d) || !isObject(d) {
				t.Errorf("forwarded %q, not a JSON object", d)
			}
			if !includeUsage && lookup(d, "error") == nil && lookup(d, "usage") != nil {
				t.Errorf("forwarded usage to a client that did not ask: %s", d)
			}
		}
		if len(out.usage) > 1 || res.err == nil && len(out.usage) != 1 {
			t.Errorf("usage reported %d times (err %v)", len(out.usage), res.err)
		}
		if res.retry && len(out.data) != 0 {
			t.Errorf("retry offered after %d payloads reached the client", len(out.data))
		}
	})
}
