package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"sov.dev/sov/internal/progress"
)

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newTable returns a tab-aligned writer; Flush it when done.
func newTable(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

// params formats a parameter count the way model names do: 135M, 1.2B.
func params(n uint64) string {
	switch {
	case n == 0:
		return "-"
	case n >= 1e12:
		return trimFloat(float64(n)/1e12) + "T"
	case n >= 1e9:
		return trimFloat(float64(n)/1e9) + "B"
	case n >= 1e6:
		return trimFloat(float64(n)/1e6) + "M"
	case n >= 1e3:
		return trimFloat(float64(n)/1e3) + "K"
	}
	return strconv.FormatUint(n, 10)
}

func trimFloat(f float64) string {
	if f >= 100 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago formats how long ago t was, coarsely.
func ago(t time.Time, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// bar returns a progress bar drawn on stderr when it is a terminal.
func (a *app) bar(label string) *progress.Bar {
	var w io.Writer = a.env.Stderr
	if f, ok := w.(*os.File); ok {
		return progress.New(f, label, 0)
	}
	return progress.New(nil, label, 0)
}
