package jinja

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fuzzVars is a small chat-shaped context for fuzzed templates.
func fuzzVars(t testing.TB) map[string]Value {
	v, err := FromJSON([]byte(`{
		"messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi <think>x</think>"},
			{"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},
			{"role": "tool", "content": "{\"r\": [1, 2.5, null, true]}"}],
		"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}}],
		"add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"}`))
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*Dict)
	out := map[string]Value{}
	for i, k := range d.keys {
		out[string(k.(String))] = d.vals[i]
	}
	return out
}

// FuzzParseRender checks that no template makes the parser or the
// renderer panic, hang or exceed its limits, and that rendering is
// deterministic.
func FuzzParseRender(f *testing.F) {
	f.Add(`{{ messages[0].content }}`)
	f.Add(`{% for m in messages %}{{ m.role }}{% endfor %}`)
	vars := fuzzVars(f)
	opts := hfOptions
	opts.MaxSteps = 50_000
	opts.MaxOutput = 64 << 10
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse(src, opts)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error %v is not a *SyntaxError", err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		out1, err1 := tpl.Render(ctx, vars)
		if time.Since(start) > 4*time.Second {
			t.Fatalf("render took %v", time.Since(start))
		}
		if len(out1) > opts.MaxOutput {
			t.Fatalf("output of %d bytes exceeds MaxOutput", len(out1))
		}
		out2, err2 := tpl.Render(ctx, vars)
		if out1 != out2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("renders differ: %q, %v vs %q, %v", out1, err1, out2, err2)
		}
	})
}
