//go:build linux

package main

import (
	"fmt"
	"slices"
	"time"
)

// dist summarises a set of latencies.
type dist struct {
	n                       int
	p50, p90, p99, min, max time.Duration
}

// summarize returns the distribution of ds (which it does not modify).
func summarize(ds []time.Duration) dist {
	if len(ds) == 0 {
		return dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return dist{
		n:   len(s),
		p50: quantile(s, 0.50),
		p90: quantile(s, 0.90),
		p99: quantile(s, 0.99),
		min: s[0],
		max: s[len(s)-1],
	}
}

// quantile returns the q-quantile (0 ≤ q ≤ 1) of sorted by the
// nearest-rank method: the smallest value with at least q of the values
// at or below it.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// rank = ceil(q·n), computed in integers to avoid float surprises
	// such as 0.99·100 = 98.99999.
	n := len(sorted)
	perMille := int(q*1000 + 0.5)
	rank := (perMille*n + 999) / 1000
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// median returns the median of ds (the mean of the middle two for an even
// count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// iqr returns the first and third quartiles of ds.
func iqr(ds []time.Duration) (q1, q3 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return quantile(s, 0.25), quantile(s, 0.75)
}

// ms formats d in milliseconds with three decimals (microsecond
// resolution), signed when asked.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}

// msSigned is ms with an explicit sign, for differences.
func msSigned(d time.Duration) string {
	return fmt.Sprintf("%+.3f ms", float64(d)/float64(time.Millisecond))
}

// mb formats a byte count in decimal megabytes, the unit of the targets.
func mb(b int64) string {
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}
