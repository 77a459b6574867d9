package limits

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/keys"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// step is one call in a scripted run against one key.
type step struct {
	at   time.Duration // since t0
	op   string        // "acquire" or "release"
	n    int64         // acquire: estimate; release: tokens used
	tick int           // release: which admitted ticket (0 = first)
	deny Limit         // acquire: "" when it must be admitted
	// retryAfter, when not 0, is the RetryAfter the denial must carry.
	retryAfter time.Duration
}

func run(t *testing.T, l *Limiter, k *keys.Key, steps []step) {
	t.Helper()
	var tickets []Ticket
	for i, s := range steps {
		switch s.op {
		case "acquire":
			tk, d := l.Acquire(k, s.n, at(s.at))
			var got Limit
			if d != nil {
				got = d.Limit
			}
			if got != s.deny {
				t.Fatalf("step %d: acquire at %v: denial %q (%v), want %q", i, s.at, got, d, s.deny)
			}
			if d == nil {
				tickets = append(tickets, tk)
				continue
			}
			if s.retryAfter != 0 && d.RetryAfter != s.retryAfter {
				t.Errorf("step %d: RetryAfter = %v, want %v", i, d.RetryAfter, s.retryAfter)
			}
			if want := d.Limit != Budget && d.Limit != Revoked; d.Retry != want {
				t.Errorf("step %d: Retry = %v, want %v for %s", i, d.Retry, want, d.Limit)
			}
			if !strings.Contains(d.Message, k.Name) {
				t.Errorf("step %d: message %q does not name the key", i, d.Message)
			}
		case "release":
			tickets[s.tick].Release(s.n, at(s.at))
		default:
			t.Fatalf("step %d: unknown op %q", i, s.op)
		}
	}
}

func acq(d time.Duration, est int64, deny Limit) step {
	return step{at: d, op: "acquire", n: est, deny: deny}
}

func rel(d time.Duration, tick int, used int64) step {
	return step{at: d, op: "release", n: used, tick: tick}
}

const s = time.Second

func TestLimits(t *testing.T) {
	tests := []struct {
		name  string
		key   keys.Key
		steps []step
	}{
		{"rpm boundary", keys.Key{RPM: 3}, []step{
			acq(0, 1, ""), acq(10*s, 1, ""), acq(20*s, 1, ""),
			{at: 30 * s, op: "acquire", deny: RequestsPerMinute, retryAfter: 31 * s},
			// Second 0 is still in the window until second 61 begins.
			{at: 60*s + s/2, op: "acquire", deny: RequestsPerMinute, retryAfter: s / 2},
			acq(61*s, 1, ""),
			{at: 61*s + s/2, op: "acquire", deny: RequestsPerMinute, retryAfter: 9*s + s/2}, // second 10 leaves at 71
			acq(71*s, 1, ""),
		}},
		{"rpm counts denied requests never", keys.Key{RPM: 1}, []step{
			acq(0, 0, ""), acq(s, 0, RequestsPerMinute), acq(2*s, 0, RequestsPerMinute), acq(61*s, 0, ""),
		}},
		{"tpm reserve and settle", keys.Key{TPM: 1000}, []step{
			acq(0, 600, ""),
			acq(s, 600, TokensPerMinute), // 600 reserved + 600 > 1000
			rel(2*s, 0, 100),             // the first used only 100
			acq(3*s, 600, ""),            // 100 + 600
			acq(4*s, 300, ""),            // exactly 1000
			{at: 5 * s, op: "acquire", n: 1, deny: TokensPerMinute, retryAfter: 56 * s},
			acq(61*s, 100, ""), // second 0's 100 left the window
		}},
		{"tpm full minute refuses a zero estimate", keys.Key{TPM: 10}, []step{
			acq(0, 10, ""), acq(s, 0, TokensPerMinute), rel(2*s, 0, 9), acq(2*s, 0, ""), acq(2*s, 0, TokensPerMinute),
		}},
		{"tpm settle more than reserved", keys.Key{TPM: 1000}, []step{
			acq(0, 10, ""), rel(s, 0, 990), acq(2*s, 20, TokensPerMinute), acq(2*s, 10, ""),
		}},
		{"tpm estimate larger than the limit", keys.Key{TPM: 100}, []step{
			acq(0, 5000, ""),           // reserves the whole minute
			acq(s, 1, TokensPerMinute), //
			rel(2*s, 0, 40),            // settles to 40
			acq(3*s, 5000, TokensPerMinute),
			acq(3*s, 60, ""),
		}},
		{"tpm request longer than a minute", keys.Key{TPM: 1000}, []step{
			acq(0, 100, ""),
			rel(100*s, 0, 800), // charged when it ends
			acq(101*s, 300, TokensPerMinute),
			acq(101*s, 200, ""),
		}},
		{"concurrency", keys.Key{MaxConcurrency: 2}, []step{
			acq(0, 1, ""), acq(0, 1, ""),
			{at: 0, op: "acquire", deny: Concurrency, retryAfter: s},
			rel(s, 0, 1),
			acq(s, 1, ""),
			acq(s, 1, Concurrency),
			rel(2*s, 1, 1), rel(2*s, 2, 1),
			acq(2*s, 1, ""), acq(2*s, 1, ""),
		}},
		{"budget exhaustion and rollover", keys.Key{TokenBudget: 1000, BudgetWindow: time.Hour}, []step{
			acq(0, 400, ""), acq(0, 400, ""),
			acq(0, 400, ""), // 800 < 1000: admitted, reserving 1200
			{at: 10 * time.Minute, op: "acquire", n: 1, deny: Budget, retryAfter: 50 * time.Minute},
			rel(11*time.Minute, 0, 100), rel(11*time.Minute, 1, 100), rel(11*time.Minute, 2, 100),
			acq(12*time.Minute, 50, ""), // 300 used
			rel(13*time.Minute, 3, 800), // 1100 used: over by one request
			{at: 14 * time.Minute, op: "acquire", n: 1, deny: Budget, retryAfter: 46 * time.Minute},
			{at: time.Hour - time.Nanosecond, op: "acquire", n: 1, deny: Budget, retryAfter: time.Second},
			acq(time.Hour, 900, ""), // a new window
			acq(time.Hour, 200, ""),
			acq(time.Hour, 200, Budget),
		}},
		{"budget charged to the admission window", keys.Key{TokenBudget: 100, BudgetWindow: time.Hour}, []step{
			acq(59*time.Minute, 10, ""),
			rel(61*time.Minute, 0, 5000), // admitted in window 0: window 1 is untouched
			acq(62*time.Minute, 99, ""),
		}},
		{"all limits", keys.Key{RPM: 2, TPM: 100, MaxConcurrency: 1, TokenBudget: 150, BudgetWindow: time.Hour}, []step{
			acq(0, 50, ""),
			acq(0, 10, Concurrency),
			rel(s, 0, 50),
			acq(2*s, 60, TokensPerMinute),
			acq(2*s, 50, ""),
			rel(3*s, 1, 40),
			acq(4*s, 1, RequestsPerMinute),
			acq(61*s, 1, ""),
			rel(62*s, 2, 70), // 160 used
			acq(200*s, 1, Budget),
		}},
		{"clock going backwards", keys.Key{RPM: 2}, []step{
			acq(100*s, 0, ""), acq(50*s, 0, ""), // counted at second 100
			acq(120*s, 0, RequestsPerMinute),
			acq(161*s, 0, ""),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.key
			k.ID, k.Name = "key_aaaaaaaaaaaa", "ci-bot"
			run(t, New(), &k, tt.steps)
		})
	}
}

func TestRevocation(t *testing.T) {
	l := New()
	k := &keys.Key{ID: "key_aaaaaaaaaaaa", Name: "ci-bot", MaxConcurrency: 1}
	tk, d := l.Acquire(k, 1, t0)
	if d != nil {
		t.Fatal(d)
	}
	revoked := *k
	when := t0
	revoked.Revoked = &when
	_, d = l.Acquire(&revoked, 1, t0)
	if d == nil || d.Limit != Revoked || d.Retry {
		t.Fatalf("revoked key: denial %+v, want Revoked without retry", d)
	}
	if want := "key ci-bot is revoked"; d.Message != want {
		t.Errorf("message %q, want %q", d.Message, want)
	}
	tk.Release(1, t0) // a request in flight when the key was revoked ends normally
	if n := l.InFlight(k.ID); n != 0 {
		t.Errorf("in flight after release = %d, want 0", n)
	}
}

// TestLimitsChangeAtOnce: the limiter reads the limits from the key passed
// in, so a key edited (here: RPM lowered) is enforced on the next call.
func TestLimitsChangeAtOnce(t *testing.T) {
	l := New()
	k := keys.Key{ID: "key_aaaaaaaaaaaa", Name: "ci", RPM: 10}
	for range 3 {
		if _, d := l.Acquire(&k, 0, t0); d != nil {
			t.Fatal(d)
		}
	}
	edited := k
	edited.RPM = 3
	if _, d := l.Acquire(&edited, 0, t0); d == nil || d.Limit != RequestsPerMinute {
		t.Errorf("after lowering RPM to 3 with 3 admitted: denial %v, want rpm", d)
	}
	edited.RPM = 0 // and removing the limit lifts it
	if _, d := l.Acquire(&edited, 0, t0); d != nil {
		t.Errorf("after removing RPM: %v", d)
	}
}

func TestDenialMessages(t *testing.T) {
	tests := []struct {
		key  keys.Key
		want string
	}{
		{keys.Key{RPM: 60}, "key ci-bot exceeded 60 requests per minute"},
		{keys.Key{TPM: 60}, "key ci-bot exceeded 60 tokens per minute"},
		{keys.Key{MaxConcurrency: 60}, "key ci-bot already has 60 requests in flight, its limit"},
		{keys.Key{TokenBudget: 60, BudgetWindow: 24 * time.Hour}, "key ci-bot used its token budget of 60 tokens per 1d; the budget renews at 2025-01-02T00:00:00Z"},
	}
	for _, tt := range tests {
		l := New()
		k := tt.key
		k.ID, k.Name = "key_aaaaaaaaaaaa", "ci-bot"
		var d *Denial
		for i := 0; i < 1000 && d == nil; i++ {
			_, d = l.Acquire(&k, 1, t0)
		}
		if d == nil {
			t.Fatalf("%+v: never denied", tt.key)
		}
		if d.Message != tt.want || d.Error() != tt.want {
			t.Errorf("message %q, want %q", d.Message, tt.want)
		}
	}
}

func TestUnlimitedKeepsNoState(t *testing.T) {
	l := New()
	k := &keys.Key{ID: "key_aaaaaaaaaaaa", Name: "free"}
	for range 100 {
		tk, d := l.Acquire(k, 10, t0)
		if d != nil {
			t.Fatal(d)
		}
		tk.Release(10, t0)
	}
	if len(l.keys) != 0 {
		t.Errorf("the limiter holds state for %d keys, want 0", len(l.keys))
	}
	Ticket{}.Release(5, t0) // the zero Ticket is fine to release
}

func TestDrainSeedRestore(t *testing.T) {
	l := New()
	k := &keys.Key{ID: "key_aaaaaaaaaaaa", Name: "ci", TokenBudget: 1000, BudgetWindow: time.Hour}
	w0 := WindowStart(at(30*time.Minute), time.Hour)
	l.Seed(k, w0, 900) // from the key store at start

	acquire := func(d time.Duration, est int64) Ticket {
		t.Helper()
		tk, den := l.Acquire(k, est, at(d))
		if den != nil {
			t.Fatalf("acquire at %v: %v", d, den)
		}
		return tk
	}
	acquire(30*time.Minute, 50).Release(60, at(31*time.Minute))
	old := acquire(59*time.Minute, 10)
	// Seeding again with what the store holds now (900: nothing drained
	// yet) counts the 60 settled here once, not twice.
	l.Seed(k, w0, 900)
	if _, d := l.Acquire(k, 1, at(32*time.Minute)); d != nil {
		t.Fatalf("960 + 10 reserved < 1000, yet denied: %v", d)
	}
	l.Seed(k, w0, 940) // 940 + 60 = 1000 used
	if _, d := l.Acquire(k, 1, at(33*time.Minute)); d == nil || d.Limit != Budget {
		t.Fatalf("a seeded, exhausted budget: denial %v, want token_budget", d)
	}
	old.Release(7, at(61*time.Minute)) // admitted in window 0, ends in window 1
	acquire(62*time.Minute, 5).Release(3, at(62*time.Minute))

	w1 := w0.Add(time.Hour)
	want := []Usage{{k.ID, w0, 67}, {k.ID, w1, 3}}
	got := l.Drain()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Drain (-want +got):\n%s", diff)
	}
	if got := l.Drain(); len(got) != 0 {
		t.Errorf("second Drain = %v, want nothing", got)
	}
	l.Restore(want) // the write failed
	if diff := cmp.Diff(want, l.Drain()); diff != "" {
		t.Errorf("Drain after Restore (-want +got):\n%s", diff)
	}
	// Seeding a window older than the current one changes nothing.
	l.Seed(k, w0, 1_000_000)
	if _, d := l.Acquire(k, 1, at(63*time.Minute)); d != nil {
		t.Errorf("seeding an old window denied the current one: %v", d)
	}
}

func TestWindowStart(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		t      time.Time
		window time.Duration
		want   time.Time
	}{
		{time.Date(2025, 3, 4, 15, 42, 7, 9, time.UTC), time.Hour, time.Date(2025, 3, 4, 15, 0, 0, 0, time.UTC)},
		{time.Date(2025, 3, 4, 15, 42, 7, 9, time.UTC), day, time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)},
		// A zone does not move the window: days are UTC days.
		{time.Date(2025, 3, 4, 1, 0, 0, 0, time.FixedZone("CET", 3600)), day, time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)},
		{time.Date(2025, 3, 4, 0, 30, 0, 0, time.FixedZone("CET", 3600)), day, time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)},
		// 30 days since the epoch: 20150 days = 671 * 30 + 20.
		{time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), 30 * day, time.Unix(671*30*86400, 0).UTC()},
		{time.Unix(0, 0), time.Hour, time.Unix(0, 0).UTC()},
		{time.Unix(-1, 0), time.Hour, time.Unix(-3600, 0).UTC()},
		{time.Date(2025, 1, 1, 0, 0, 59, 0, time.UTC), time.Minute, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got := WindowStart(tt.t, tt.window)
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("WindowStart(%v, %v) = %v, want %v", tt.t, tt.window, got, tt.want)
		}
	}
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		prompt, maxTokens int
		want              int64
	}{
		{0, 0, DefaultCompletionEstimate},
		{4, 10, 11},
		{5, 10, 12},
		{400, 100, 200},
		{0, 1_000_000, MaxCompletionEstimate},
		{-5, -1, DefaultCompletionEstimate},
	}
	for _, tt := range tests {
		if got := EstimateTokens(tt.prompt, tt.maxTokens); got != tt.want {
			t.Errorf("EstimateTokens(%d, %d) = %d, want %d", tt.prompt, tt.maxTokens, got, tt.want)
		}
	}
}

func TestAcquireReleaseDoNotAllocate(t *testing.T) {
	l := New()
	k := &keys.Key{ID: "key_aaaaaaaaaaaa", Name: "ci", RPM: 1 << 30, TPM: 1 << 30, MaxConcurrency: 8,
		TokenBudget: 1 << 60, BudgetWindow: time.Hour}
	l.Acquire(k, 1, t0) // creates the key's state
	now := t0
	n := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Millisecond)
		tk, d := l.Acquire(k, 100, now)
		if d != nil {
			t.Fatal(d)
		}
		tk.Release(90, now)
	})
	if n != 0 {
		t.Errorf("Acquire+Release allocate %v times", n)
	}
}
