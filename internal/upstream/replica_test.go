package upstream

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testBackend returns a Backend with n replicas and no health checker.
func testBackend(t testing.TB, n int, cfg Config) *Backend {
	t.Helper()
	cfg.Name = "test"
	cfg.HealthInterval = -1
	cfg.URLs = nil
	for i := range n {
		cfg.URLs = append(cfg.URLs, "http://127.0.0.1:"+string(rune('1'+i))+"/v1")
	}
	b, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestPick(t *testing.T) {
	now := time.Now()
	type rep struct {
		healthy  bool
		state    BreakerState
		openedAt time.Time
		trial    bool
		inFlight int
		tried    bool
	}
	up := rep{healthy: true}
	tests := []struct {
		name      string
		reps      []rep
		rr        int
		want      int // replica index, -1 for none
		wantTrial bool
	}{
		{"first of equals", []rep{up, up, up}, 0, 0, false},
		{"round robin start", []rep{up, up, up}, 2, 2, false},
		{"least in flight", []rep{{healthy: true, inFlight: 2}, {healthy: true, inFlight: 1}, {healthy: true, inFlight: 3}}, 0, 1, false},
		{"untried before idle", []rep{{healthy: true, tried: true}, {healthy: true, inFlight: 5}}, 0, 1, false},
		{"tried when nothing else", []rep{{healthy: true, tried: true}, {healthy: false}}, 0, 0, false},
		{"skip unhealthy", []rep{{healthy: false}, up}, 0, 1, false},
		{"skip open", []rep{{healthy: true, state: BreakerOpen, openedAt: now}, up}, 0, 1, false},
		{"open past cooldown is a trial", []rep{{healthy: true, state: BreakerOpen, openedAt: now.Add(-time.Hour)}}, 0, 0, true},
		{"half-open with trial in flight", []rep{{healthy: true, state: BreakerHalfOpen, trial: true}}, 0, -1, false},
		{"half-open without trial", []rep{{healthy: true, state: BreakerHalfOpen}}, 0, 0, true},
		{"none", []rep{{healthy: false}, {healthy: true, state: BreakerOpen, openedAt: now}}, 0, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBackend(t, len(tt.reps), Config{BreakerCooldown: time.Minute})
			tried := make([]bool, len(tt.reps))
			for i, r := range tt.reps {
				br := b.replicas[i]
				br.healthy, br.state, br.openedAt, br.trial, br.inFlight = r.healthy, r.state, r.openedAt, r.trial, r.inFlight
				tried[i] = r.tried
			}
			b.rr = tt.rr
			r, trial := b.pick(tried)
			got := -1
			if r != nil {
				got = r.idx
			}
			if got != tt.want || trial != tt.wantTrial {
				t.Errorf("pick = %d (trial %v), want %d (trial %v)", got, trial, tt.want, tt.wantTrial)
			}
		})
	}
}

func TestBreakerTransitions(t *testing.T) {
	b := testBackend(t, 1, Config{BreakerFailures: 2, BreakerCooldown: time.Hour})
	r := b.replicas[0]
	fail := errors.New("boom")
	step := func(o outcome) BreakerState {
		rp, trial := b.pick([]bool{false})
		if rp == nil {
			return "refused"
		}
		b.release(rp, trial, o, fail)
		return b.Status()[0].Breaker
	}
	var got []BreakerState
	got = append(got, step(failure), step(neutral), step(failure), step(success))
	r.openedAt = time.Now().Add(-2 * time.Hour) // the cooldown has passed
	got = append(got, step(failure))
	r.openedAt = time.Now().Add(-2 * time.Hour)
	got = append(got, step(neutral), step(success), step(failure))
	want := []BreakerState{BreakerClosed, BreakerClosed, BreakerOpen, "refused", BreakerOpen, BreakerHalfOpen, BreakerClosed, BreakerClosed}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("breaker states (-want +got):\n%s", diff)
	}
	st := b.Status()[0]
	if st.Failures != 4 || st.ConsecutiveFailures != 1 || st.Requests != 7 || st.InFlight != 0 {
		t.Errorf("status %+v: want 4 failures, 1 consecutive, 7 requests, none in flight", st)
	}
}

func TestServerRoot(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"http://h:8080", "http://h:8080", true},
		{"http://h:8080/", "http://h:8080", true},
		{"http://h:8080/v1", "http://h:8080", true},
		{"http://h:8080/v1/", "http://h:8080", true},
		{"https://h/llm/v1", "https://h/llm", true},
		{"https://h/llm", "https://h/llm", true},
		{" http://h/v1 ", "http://h", true},
		{"ftp://h", "", false},
		{"http://", "", false},
		{"http://u:p@h/v1", "", false},
		{"http://h/v1?x=1", "", false},
		{"h:8080", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := serverRoot(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("serverRoot(%q) = %q, %v; want %q (ok %v)", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no name", Config{URLs: []string{"http://h"}}},
		{"no urls", Config{Name: "x"}},
		{"bad url", Config{Name: "x", URLs: []string{"h"}}},
		{"same server twice", Config{Name: "x", URLs: []string{"http://h", "http://h/v1"}}},
		{"negative timeout", Config{Name: "x", URLs: []string{"http://h"}, Timeout: -1}},
		{"relative health path", Config{Name: "x", URLs: []string{"http://h"}, HealthPath: "health"}},
		{"empty model", Config{Name: "x", URLs: []string{"http://h"}, Models: []string{""}}},
		{"empty alias", Config{Name: "x", URLs: []string{"http://h"}, Aliases: map[string]string{"a": ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := New(tt.cfg, nil); err == nil {
				b.Close()
				t.Errorf("New accepted %+v", tt.cfg)
			}
		})
	}
}
