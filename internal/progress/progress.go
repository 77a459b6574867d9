// Package progress draws a byte-counting progress bar (bytes done, rate,
// ETA) on a terminal.
//
// A Bar is safe to update from many goroutines. When the output is not a
// terminal, New returns a bar that counts but draws nothing, so piped output
// stays clean. It is user-facing output, not logging.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// Bar counts bytes towards a total and redraws itself periodically.
type Bar struct {
	label string
	total atomic.Int64
	done  atomic.Int64
	out   io.Writer // nil: draw nothing
	start time.Time
	now   func() time.Time

	stop     chan struct{}
	finished sync.WaitGroup
	once     sync.Once
}

// New returns a bar that draws to w when w is a terminal.
func New(w io.Writer, label string, total int64) *Bar {
	var out io.Writer
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		out = w
	}
	return newBar(out, label, total, 200*time.Millisecond)
}

func newBar(out io.Writer, label string, total int64, every time.Duration) *Bar {
	b := &Bar{label: label, out: out, start: time.Now(), now: time.Now, stop: make(chan struct{})}
	b.total.Store(total)
	if out != nil {
		b.finished.Add(1)
		go b.loop(every)
	}
	return b
}

// Add records n more bytes done.
func (b *Bar) Add(n int64) { b.done.Add(n) }

// AddTotal grows the expected total (for work discovered as it goes).
func (b *Bar) AddTotal(n int64) { b.total.Add(n) }

// Done returns the bytes recorded so far.
func (b *Bar) Done() int64 { return b.done.Load() }

// Finish draws the final state and stops redrawing. It is safe to call more
// than once.
func (b *Bar) Finish() {
	b.once.Do(func() {
		close(b.stop)
		b.finished.Wait()
		if b.out != nil {
			fmt.Fprintf(b.out, "\r%s\n", b.line())
		}
	})
}

func (b *Bar) loop(every time.Duration) {
	defer b.finished.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			fmt.Fprintf(b.out, "\r%s", b.line())
		}
	}
}

// line renders the bar's current state.
func (b *Bar) line() string {
	done, total := b.done.Load(), b.total.Load()
	elapsed := b.now().Sub(b.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed
	}
	eta := "--"
	if rate > 0 && total >= done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	const width = 24
	filled := 0
	if total > 0 {
		filled = int(float64(width) * float64(min(done, total)) / float64(total))
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	return fmt.Sprintf("%s [%s] %s / %s  %s/s  ETA %s   ", b.label, bar, Bytes(done), Bytes(total), Bytes(int64(rate)), eta)
}

// Bytes formats n with a binary unit, e.g. "1.5 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
