//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/upstream/upstreamtest"
)

func durs(ms ...float64) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m * float64(time.Millisecond))
	}
	return out
}

func TestQuantile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", durs(7), 0.99, 7 * time.Millisecond},
		{"p50 of 100", hundred, 0.50, 50 * time.Millisecond},
		{"p99 of 100", hundred, 0.99, 99 * time.Millisecond},
		{"p90 of 100", hundred, 0.90, 90 * time.Millisecond},
		{"max", hundred, 1, 100 * time.Millisecond},
		{"min", hundred, 0, time.Millisecond},
		{"p50 of 3", durs(1, 2, 3), 0.5, 2 * time.Millisecond},
		{"p99 of 3", durs(1, 2, 3), 0.99, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestSummarizeMedianIQR(t *testing.T) {
	in := durs(5, 1, 4, 2, 3)
	got := summarize(in)
	want := dist{n: 5, p50: 3 * time.Millisecond, p90: 5 * time.Millisecond, p99: 5 * time.Millisecond, min: time.Millisecond, max: 5 * time.Millisecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if diff := cmp.Diff(durs(5, 1, 4, 2, 3), in); diff != "" {
		t.Errorf("summarize changed its input (-want +got):\n%s", diff)
	}
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{durs(3), 3 * time.Millisecond},
		{durs(4, 1, 3, 2), 2500 * time.Microsecond},
		{durs(9, 1, 5), 5 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	q1, q3 := iqr(durs(1, 2, 3, 4, 5, 6, 7, 8))
	if q1 != 2*time.Millisecond || q3 != 6*time.Millisecond {
		t.Errorf("iqr = %v, %v, want 2ms, 6ms", q1, q3)
	}
}

func TestParseStatCPU(t *testing.T) {
	// Fields 14 and 15 (utime, stime) are 250 and 50 ticks: 3 s.
	tail := " S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 9 0 100 200 300"
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "1234 (sov)" + tail, 3 * time.Second, false},
		{"odd name", "1234 (a) b (c) d)" + tail, 3 * time.Second, false},
		{"no name", "1234 sov S 1", 0, true},
		{"short", "1234 (sov) S 1 2 3", 0, true},
		{"bad number", "1234 (sov) S 1 2 3 4 5 6 7 8 9 10 x 50", 0, true},
		{"negative", "1234 (sov) S 1 2 3 4 5 6 7 8 9 10 -1 50", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.stat)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("cpu = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStatusBytes(t *testing.T) {
	status := "Name:\tsov\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t9\nVmOdd:\t12\n"
	tests := []struct {
		field   string
		want    int64
		wantErr bool
	}{
		{"VmRSS", 40960 << 10, false},
		{"VmHWM", 51200 << 10, false},
		{"VmSwap", 0, true},
		{"VmOdd", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			got, err := statusBytes(status, tt.field)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("%s = %d, want %d", tt.field, got, tt.want)
			}
		})
	}
}

func TestReadProcStatSelf(t *testing.T) {
	st, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.rss <= 0 || st.hwm < st.rss {
		t.Errorf("rss %d, hwm %d: want 0 < rss ≤ hwm", st.rss, st.hwm)
	}
	if _, err := readProcStat(-1); err == nil {
		t.Error("no error for pid -1")
	}
}

func TestParseServing(t *testing.T) {
	tests := []struct{ line, want string }{
		{"sov: serving on http://127.0.0.1:43211 (OpenAI API at http://127.0.0.1:43211/v1)", "http://127.0.0.1:43211"},
		{"sov: serving on https://[::1]:8443 (OpenAI API at https://[::1]:8443/v1)", "https://[::1]:8443"},
		{"sov: serving on http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{`time=… level=INFO msg=serving url=http://127.0.0.1:1`, ""},
		{"sov: created an admin key in /tmp/x/admin.key", ""},
	}
	for _, tt := range tests {
		if got := parseServing(tt.line); got != tt.want {
			t.Errorf("parseServing(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestRSSGrowth(t *testing.T) {
	var flat, growing []rssSample
	for i := 0; i <= 120; i++ { // 60 s every 500 ms
		at := time.Duration(i) * 500 * time.Millisecond
		flat = append(flat, rssSample{at: at, rss: 30e6})
		growing = append(growing, rssSample{at: at, rss: 30e6 + int64(i)*100e3})
	}
	tests := []struct {
		name        string
		samples     []rssSample
		skip        time.Duration
		first, last int64
		window      time.Duration
	}{
		{"empty", nil, 0, 0, 0, 0},
		{"flat", flat, 0, 30e6, 30e6, 10 * time.Second},
		// First 10 s: samples 0..20, mean index 10; last: 100..120, mean 110.
		{"growing", growing, 0, 31e6, 41e6, 10 * time.Second},
		// Skipping 5 s: samples 10..30, mean index 20.
		{"growing, skip", growing, 5 * time.Second, 32e6, 41e6, 10 * time.Second},
		// A 6 s run uses 2 s windows.
		{"short", flat[:13], 0, 30e6, 30e6, 2 * time.Second},
		// At most a quarter of the run is skipped: 1.5 s of 6, then
		// windows of 1.5 s: samples 3..6 (mean 4.5) and 9..12 (mean 10.5).
		{"short, long skip", growing[:13], time.Minute, 30450e3, 31050e3, 1500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, last, window := rssGrowth(tt.samples, tt.skip)
			if first != tt.first || last != tt.last || window != tt.window {
				t.Errorf("rssGrowth = %d, %d, %v; want %d, %d, %v", first, last, window, tt.first, tt.last, tt.window)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	text := `# HELP sov_audit_dropped_entries x
# TYPE sov_audit_dropped_entries gauge
sov_audit_dropped_entries 0
sov_audit_pending_entries 12
sov_requests_total{endpoint="chat",code="200"} 5
go_goroutines 17
broken
bad_value x
`
	got := parseMetrics(strings.NewReader(text))
	want := map[string]float64{"sov_audit_dropped_entries": 0, "sov_audit_pending_entries": 12, "go_goroutines": 17}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseMetrics (-want +got):\n%s", diff)
	}
}

func TestChatBody(t *testing.T) {
	for _, tt := range []struct {
		stream bool
		size   int
	}{{false, 0}, {true, 200}, {false, 10000}} {
		b := chatBody("tag-1-2", tt.stream, tt.size)
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role, Content string
			} `json:"messages"`
			MaxTokens int  `json:"max_tokens"`
			Stream    bool `json:"stream"`
		}
		if err := json.Unmarshal(b, &req); err != nil {
			t.Fatalf("size %d: %v: %s", tt.size, err, b)
		}
		if req.Model != benchModel || len(req.Messages) != 1 || !strings.HasPrefix(req.Messages[0].Content, "bench tag-1-2 ") || req.Stream != tt.stream {
			t.Errorf("size %d: unexpected request %+v", tt.size, req)
		}
		// The tag must be among the words the upstream echoes.
		if words := strings.Fields(req.Messages[0].Content); len(words) < 2 || req.MaxTokens < 2 {
			t.Errorf("size %d: the tag is not within max_tokens", tt.size)
		}
		if tt.size > 160 && (len(b) > tt.size || len(b) < tt.size-70) {
			t.Errorf("size %d: body is %d bytes", tt.size, len(b))
		}
	}
}

func TestReadStream(t *testing.T) {
	long := "data: " + strings.Repeat("x", 10000) + "\n\n"
	tests := []struct {
		name      string
		body      string
		wantFirst bool
		wantDone  bool
	}{
		{"complete", "data: {\"a\":1}\n\ndata: [DONE]\n\n", true, true},
		{"no done", "data: {\"a\":1}\n\n", true, false},
		{"empty", "", false, false},
		{"comments only", ": keep-alive\n\n", false, false},
		{"long event", long + "data: [DONE]\n\n", true, true},
		{"no trailing newline", "data: {}\n\ndata: [DONE]", true, true},
		{"done without space", "data:[DONE]\n\n", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, done, err := readStream(strings.NewReader(tt.body), time.Now().Add(-time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if (first > 0) != tt.wantFirst || done != tt.wantDone {
				t.Errorf("first %v, done %v; want first %v, done %v", first, done, tt.wantFirst, tt.wantDone)
			}
		})
	}
}

func TestErrorKind(t *testing.T) {
	tests := []struct {
		r    callResult
		want string
	}{
		{callResult{status: 200}, ""},
		{callResult{status: 429}, "HTTP 429"},
		{callResult{status: 200, err: errors.Join(errBadAnswer, errors.New("x"))}, "HTTP 200, bad answer"},
		{callResult{err: context.DeadlineExceeded}, "timeout"},
		{callResult{err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}, "connection refused"},
		{callResult{err: io.ErrUnexpectedEOF}, "connection closed early"},
		{callResult{err: errors.New("strange")}, "other: strange"},
	}
	for _, tt := range tests {
		if got := errorKind(tt.r); got != tt.want {
			t.Errorf("errorKind(%+v) = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestCall(t *testing.T) {
	up := upstreamtest.New(upstreamtest.Options{Models: []string{benchModel}, APIKey: "k"})
	defer up.Close()
	tests := []struct {
		name       string
		key        string
		stream     bool
		fault      func()
		wantStatus int
		wantKind   string
	}{
		{"plain", "k", false, nil, 200, ""},
		{"stream", "k", true, nil, 200, ""},
		{"wrong key", "x", false, nil, 401, "HTTP 401"},
		{"server error", "k", false, func() { up.FailNext(1, 503) }, 503, "HTTP 503"},
		{"garbled", "k", false, func() { up.BadJSON(true) }, 200, "HTTP 200, bad answer"},
		{"dropped stream", "k", true, func() { up.DropStreamAfter(1) }, 200, "connection closed early"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up.ResetFaults()
			if tt.fault != nil {
				tt.fault()
			}
			tg := newTarget("t", up.URL, tt.key, 4, 5*time.Second)
			defer tg.close()
			r := tg.call(context.Background(), "tag-"+tt.name, tt.stream, 200)
			if r.status != tt.wantStatus || errorKind(r) != tt.wantKind {
				t.Errorf("status %d, kind %q (err %v); want %d, %q", r.status, errorKind(r), r.err, tt.wantStatus, tt.wantKind)
			}
			if tt.stream && r.ok() && (r.first <= 0 || r.first > r.latency) {
				t.Errorf("first event at %v, whole stream %v", r.first, r.latency)
			}
		})
	}
}

func TestOverhead(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			fast := upstreamtest.New(upstreamtest.Options{Models: []string{benchModel}, MaxRecorded: -1})
			defer fast.Close()
			slow := upstreamtest.New(upstreamtest.Options{Models: []string{benchModel}, MaxRecorded: -1, Latency: 5 * time.Millisecond})
			defer slow.Close()
			direct := newTarget("fast", fast.URL, "", 4, 5*time.Second)
			defer direct.close()
			gw := newTarget("slow", slow.URL, "", 4, 5*time.Second)
			defer gw.close()
			res, err := overhead(context.Background(), direct, gw, overheadOptions{rounds: 3, perRound: 5, warmup: 2, stream: stream, payload: 200})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.direct.all) != 15 || len(res.gw.all) != 15 || len(res.direct.roundMedians) != 3 || len(res.gw.roundMedians) != 3 {
				t.Errorf("samples %d/%d, rounds %d/%d; want 15/15, 3/3",
					len(res.direct.all), len(res.gw.all), len(res.direct.roundMedians), len(res.gw.roundMedians))
			}
			// The slow upstream waits 5 ms before answering; the
			// difference must show it (timers only ever fire late).
			rounds, p50, _ := res.added()
			if rounds < 4*time.Millisecond || p50 < 4*time.Millisecond || rounds > time.Second {
				t.Errorf("added %v (p50 %v), want about 5ms", rounds, p50)
			}
			if fast.Started() != 17 || slow.Started() != 17 {
				t.Errorf("upstreams got %d and %d requests, want 17 each (2 warm-up + 15)", fast.Started(), slow.Started())
			}
		})
	}

	// A target that never succeeds is an error, and its failures are
	// counted by kind.
	fast := upstreamtest.New(upstreamtest.Options{Models: []string{benchModel}})
	defer fast.Close()
	bad := upstreamtest.New(upstreamtest.Options{Models: []string{benchModel}, APIKey: "secret"})
	defer bad.Close()
	direct := newTarget("fast", fast.URL, "", 4, 5*time.Second)
	defer direct.close()
	gw := newTarget("bad", bad.URL, "wrong", 4, 5*time.Second)
	defer gw.close()
	res, err := overhead(context.Background(), direct, gw, overheadOptions{rounds: 2, perRound: 3, warmup: 1, payload: 200})
	if err == nil {
		t.Fatal("no error when every gateway request failed")
	}
	if diff := cmp.Diff(map[string]int{"HTTP 401": 6}, res.gw.errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	up := upstreamtest.New(upstreamtest.Options{Models: []string{benchModel}, MaxRecorded: -1, Latency: time.Millisecond})
	defer up.Close()
	tg := newTarget("up", up.URL, "", 64, 5*time.Second)
	defer tg.close()

	res := load(context.Background(), tg, loadOptions{rate: 200, duration: 500 * time.Millisecond, payload: 200, tag: "t"})
	if res.planned != 100 || res.sent != 100 || len(res.ok) != 100 || res.failed() != 0 {
		t.Errorf("planned %d, sent %d, ok %d, failed %d (%v); want 100, 100, 100, 0", res.planned, res.sent, len(res.ok), res.failed(), res.errors)
	}
	if got := up.Started(); got != 100 {
		t.Errorf("upstream got %d requests, want 100", got)
	}
	// 99 intervals of 5 ms: the last send is due at 495 ms. Sends can be
	// late on a busy machine but never early.
	if res.sendSpan < 495*time.Millisecond || res.sendSpan > 5*time.Second {
		t.Errorf("sends spanned %v, want about 495ms", res.sendSpan)
	}
	for _, d := range res.ok {
		if d < time.Millisecond {
			t.Errorf("latency %v below the upstream's 1ms", d)
			break
		}
	}

	// Failures are counted by kind, not dropped.
	up.FailNext(7, 503)
	res = load(context.Background(), tg, loadOptions{rate: 500, duration: 100 * time.Millisecond, payload: 0, tag: "f"})
	if diff := cmp.Diff(map[string]int{"HTTP 503": 7}, res.errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if res.sent != 50 || len(res.ok) != 43 {
		t.Errorf("sent %d, ok %d; want 50, 43", res.sent, len(res.ok))
	}

	// A cancelled context stops the schedule.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res = load(ctx, tg, loadOptions{rate: 100, duration: 10 * time.Second, payload: 0, tag: "c"})
	if res.planned != 1000 || res.sent == 0 || res.sent > 50 {
		t.Errorf("cancelled after 100ms: planned %d, sent %d; want 1000 planned, a few sent", res.planned, res.sent)
	}
}

func TestVerdicts(t *testing.T) {
	mk := func(directMs, gwMs float64) *overheadResult {
		d, g := durs(directMs, directMs, directMs), durs(gwMs, gwMs, gwMs)
		return &overheadResult{
			direct: series{all: d, roundMedians: d},
			gw:     series{all: g, roundMedians: g},
		}
	}
	flat := []rssSample{{0, 30e6}, {30 * time.Second, 31e6}, {60 * time.Second, 31e6}}
	grow := []rssSample{{0, 30e6}, {30 * time.Second, 60e6}, {60 * time.Second, 90e6}}
	ok := loadResult{rate: 1000, sent: 100, ok: durs(1, 1, 1), errors: map[string]int{}, sendSpan: 99 * time.Millisecond}
	bad := loadResult{rate: 1000, sent: 100, ok: durs(1, 1, 1), errors: map[string]int{"HTTP 429": 2}, sendSpan: 99 * time.Millisecond}
	slowGen := loadResult{rate: 1000, sent: 100, ok: durs(1, 1, 1), errors: map[string]int{}, sendSpan: 200 * time.Millisecond}
	tests := []struct {
		name string
		r    *report
		want map[string]string // metric prefix → status
	}{
		{"all pass", &report{plain: mk(1, 1.1), stream: mk(1, 1.5), gwLoad: &ok, hwm: 40e6, rss: flat, auditOK: true, auditInference: 10, gwRequests: 10},
			map[string]string{"added latency p50, one": "PASS", "added latency p99, one": "PASS", "added time to first": "PASS",
				"errors at": "PASS", "peak RSS": "PASS", "RSS growth": "PASS", "audit": "PASS"}},
		{"all miss", &report{plain: mk(1, 3), stream: mk(1, 3), gwLoad: &bad, hwm: 120e6, rss: grow, auditOK: true, auditInference: 9, gwRequests: 10},
			map[string]string{"added latency p50, one": "MISS", "added latency p99, one": "MISS", "added time to first": "MISS",
				"errors at": "MISS", "peak RSS": "MISS", "RSS growth": "MISS", "audit": "MISS"}},
		{"p50 only misses", &report{plain: mk(1, 1.5), auditOK: true},
			map[string]string{"added latency p50, one": "MISS", "added latency p99, one": "PASS", "audit": "PASS"}},
		{"slow generator", &report{gwLoad: &slowGen, baseline: &ok, hwm: 40e6, rss: flat, auditOK: false},
			map[string]string{"errors at": "PASS", "added latency p50 at": "info", "added latency p99 at": "info",
				"load generator": "MISS (generator)", "peak RSS": "PASS", "RSS growth": "PASS", "audit": "MISS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for _, v := range verdicts(tt.r) {
				for prefix := range tt.want {
					if strings.HasPrefix(v.metric, prefix) {
						got[prefix] = v.status
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
			// The full report renders without panicking.
			tt.r.opts = options{rate: 1000, rounds: 3, perRound: 3, latency: time.Millisecond}
			var sb strings.Builder
			printReport(&sb, tt.r)
			if !strings.Contains(sb.String(), "Targets") {
				t.Errorf("report lacks the targets table:\n%s", sb.String())
			}
		})
	}
}

func TestOptionsCheck(t *testing.T) {
	good := options{duration: time.Minute, baseline: 10 * time.Second, rate: 1000, rounds: 7, perRound: 25, warmup: 15,
		latency: time.Millisecond, payload: 200, timeout: 10 * time.Second, mode: "all"}
	tests := []struct {
		name   string
		change func(*options)
		ok     bool
	}{
		{"defaults", func(*options) {}, true},
		{"short mode", func(o *options) { o.duration, o.rate = 5*time.Second, 200 }, true},
		{"bad mode", func(o *options) { o.mode = "both" }, false},
		{"zero rate", func(o *options) { o.rate = 0 }, false},
		{"zero duration", func(o *options) { o.duration = 0 }, false},
		{"negative latency", func(o *options) { o.latency = -1 }, false},
		{"too many samples", func(o *options) { o.rate, o.duration = 100000, time.Hour }, false},
		{"no rounds", func(o *options) { o.rounds = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.change(&o)
			if err := o.check(); (err == nil) != tt.ok {
				t.Errorf("check() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// Ensure the test upstream answers what call expects from the gateway:
// the echoed prompt. (If upstreamtest stopped echoing, the benchmark
// would count every answer as bad.)
func TestUpstreamEchoes(t *testing.T) {
	up := upstreamtest.New(upstreamtest.Options{Models: []string{benchModel}})
	defer up.Close()
	resp, err := http.Post(up.URL+"/v1/chat/completions", "application/json", strings.NewReader(string(chatBody("echo-me-42", false, 500))))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "echo-me-42") {
		t.Errorf("answer %s does not echo the tag", b)
	}
}
