//go:build linux

package main

import (
	"strings"
	"testing"
	"time"
)

// FuzzParsers feeds arbitrary text to everything the benchmark parses
// from other processes: /proc files, sov serve's output, /metrics and
// server-sent events. None may panic, and numbers read must be sane.
func FuzzParsers(f *testing.F) {
	f.Add("1234 (sov) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100 200 300")
	f.Add("Name:\tsov\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n")
	f.Add("sov: serving on http://127.0.0.1:43211 (OpenAI API at http://127.0.0.1:43211/v1)")
	f.Add("# TYPE x gauge\nsov_audit_dropped_entries 0\nsov_requests_total{code=\"200\"} 5\n")
	f.Add("data: {\"a\":1}\n\ndata: [DONE]\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		if cpu, err := parseStatCPU(s); err == nil && cpu < 0 {
			t.Errorf("parseStatCPU(%q) = %v", s, cpu)
		}
		for _, field := range []string{"VmRSS", "VmHWM"} {
			if n, err := statusBytes(s, field); err == nil && n < 0 {
				t.Errorf("statusBytes(%q, %s) = %d", s, field, n)
			}
		}
		if u := parseServing(s); u != "" && !strings.HasPrefix(u, "http") {
			t.Errorf("parseServing(%q) = %q", s, u)
		}
		parseMetrics(strings.NewReader(s))
		start := time.Now()
		first, _, err := readStream(strings.NewReader(s), start)
		if err != nil {
			t.Errorf("readStream: %v", err)
		}
		if first < 0 || first > time.Since(start) {
			t.Errorf("readStream: first event at %v", first)
		}
	})
}
