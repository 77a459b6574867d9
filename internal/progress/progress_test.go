package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{5 << 30, "5.0 GiB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestLineShowsRateAndETA(t *testing.T) {
	b := newBar(nil, "import", 200<<20, time.Hour)
	start := b.start
	b.now = func() time.Time { return start.Add(2 * time.Second) }
	b.Add(100 << 20)
	line := b.line()
	for _, want := range []string{"100.0 MiB / 200.0 MiB", "50.0 MiB/s", "ETA 2s", "[============            ]"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q does not contain %q", line, want)
		}
	}
}

func TestNotATerminalDrawsNothing(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "import", 10)
	b.Add(10)
	b.Finish()
	if buf.Len() != 0 {
		t.Errorf("bar wrote %q to a non-terminal", buf.String())
	}
	if b.Done() != 10 {
		t.Errorf("Done() = %d, want 10", b.Done())
	}
}

func TestFinishDrawsFinalLine(t *testing.T) {
	var buf bytes.Buffer
	b := newBar(&buf, "verify", 4, time.Hour)
	b.Add(4)
	b.Finish()
	b.Finish()
	if got := strings.Count(buf.String(), "\n"); got != 1 {
		t.Errorf("Finish wrote %d lines, want 1: %q", got, buf.String())
	}
	if !strings.Contains(buf.String(), "4 B / 4 B") {
		t.Errorf("final line %q lacks the totals", buf.String())
	}
}
