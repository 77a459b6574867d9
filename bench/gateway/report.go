//go:build linux

package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// The targets of issue 5 ("Targets on 2 cores") and, for streams, the
// survey's goal (docs: shared notes on gateways, §6).
const (
	targetAddedP50    = 200 * time.Microsecond
	targetAddedP99    = time.Millisecond
	targetStreamAdded = time.Millisecond
	targetPeakRSS     = 100e6 // bytes (100 MB)
	// growthTolerance is how much higher the last window's average RSS
	// may be than the first's and still count as no growth: a garbage
	// collected heap breathes.
	growthTolerance = 0.10
)

// verdict is one row of the targets table.
type verdict struct {
	metric, measured, target, status string
}

func pass(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// verdicts compares the report with the targets.
func verdicts(r *report) []verdict {
	var v []verdict
	if p := r.plain; p != nil {
		rounds, _, p99 := p.added()
		v = append(v,
			verdict{"added latency p50, one at a time (median of round medians)", msSigned(rounds), "≤ " + ms(targetAddedP50), pass(rounds <= targetAddedP50)},
			verdict{"added latency p99, one at a time", msSigned(p99), "≤ " + ms(targetAddedP99), pass(p99 <= targetAddedP99)})
	}
	if p, a := r.plain, r.plainAnchor; p != nil && a != nil {
		rounds, _, _ := p.added()
		arounds, _, _ := a.added()
		v = append(v, verdict{"  anchor, same run: a bare net/http reverse proxy adds", msSigned(arounds),
			fmt.Sprintf("(sov serve: %s)", msSigned(rounds)), "info"})
	}
	if s := r.stream; s != nil {
		rounds, _, _ := s.added()
		v = append(v, verdict{"added time to first event, streaming (median of round medians)", msSigned(rounds), "≤ " + ms(targetStreamAdded) + " (survey goal)", pass(rounds <= targetStreamAdded)})
	}
	if l := r.gwLoad; l != nil {
		load := fmt.Sprintf("%d req/s", l.rate)
		v = append(v, verdict{"errors at " + load, fmt.Sprintf("%d of %d", l.failed(), l.sent), "0", pass(l.failed() == 0 && l.sent > 0)})
		if b := r.baseline; b != nil && len(b.ok) > 0 && len(l.ok) > 0 {
			bd, gd := summarize(b.ok), summarize(l.ok)
			v = append(v,
				verdict{"added latency p50 at " + load, msSigned(gd.p50 - bd.p50), "(≤ " + ms(targetAddedP50) + ")", "info"},
				verdict{"added latency p99 at " + load, msSigned(gd.p99 - bd.p99), "(≤ " + ms(targetAddedP99) + ")", "info"})
		}
		if want := float64(l.rate); l.sendRate() < 0.99*want {
			v = append(v, verdict{"load generator kept the rate", fmt.Sprintf("%.0f req/s", l.sendRate()), fmt.Sprintf("≥ %.0f req/s", 0.99*want), "MISS (generator)"})
		}
		peak := max(r.hwm, maxRSS(r.rss))
		v = append(v, verdict{"peak RSS of sov serve (VmHWM, whole life)", mb(peak), "≤ " + mb(targetPeakRSS), pass(peak > 0 && peak <= targetPeakRSS)})
		first, last, window := rssGrowth(r.rss, r.settle())
		if first > 0 {
			growth := float64(last-first) / float64(first)
			v = append(v, verdict{
				fmt.Sprintf("RSS growth: last %s vs first %s average", window.Round(time.Second), window.Round(time.Second)),
				fmt.Sprintf("%s → %s (%+.1f%%)", mb(first), mb(last), 100*growth),
				fmt.Sprintf("none (≤ %+.0f%%)", 100*growthTolerance),
				pass(growth <= growthTolerance)})
		}
	}
	if r.auditErr != nil {
		v = append(v, verdict{"audit: every request recorded, log verifies", "error: " + r.auditErr.Error(), "all, OK", "MISS"})
	} else {
		ok := r.auditOK && r.auditInference == r.gwRequests
		v = append(v, verdict{"audit: every request recorded, log verifies",
			fmt.Sprintf("%d of %d, %s", r.auditInference, r.gwRequests, verifyWord(r.auditOK)), "all, OK", pass(ok)})
	}
	return v
}

func verifyWord(ok bool) string {
	if ok {
		return "verifies"
	}
	return "FAILS verification"
}

func maxRSS(s []rssSample) int64 {
	var m int64
	for _, x := range s {
		m = max(m, x.rss)
	}
	return m
}

// printReport writes the measurements and the targets table.
func printReport(out io.Writer, r *report) {
	o := r.opts
	fmt.Fprintln(out)
	fmt.Fprintln(out, "sov gateway benchmark")
	fmt.Fprintf(out, "machine:  %s\n", machine())
	fmt.Fprintf(out, "upstream: internal/upstream/upstreamtest in a child process, %s before the first byte\n", o.latency)
	fmt.Fprintf(out, "gateway:  sov serve (%s): engine off, 1 backend (jurisdiction eu), key with rpm/tpm limits in a tenant limited to eu, audit log on\n", r.sovBuild)
	if pinned() {
		fmt.Fprintf(out, "pinning:  sov serve on CPU %s; upstream and load generator on CPU %s\n", serveCPU, otherCPU)
	} else {
		fmt.Fprintln(out, "pinning:  none (all processes share all CPUs)")
	}
	if r.anchorURL != "" {
		fmt.Fprintln(out, "anchor:   a bare reverse proxy on net/http (net/http/httputil, default transport) in a child process, in front of the same upstream")
	}
	fmt.Fprintf(out, "request:  chat completion, ~%d B body, max_tokens 8, unique prompt each; one keep-alive client per target\n", max(o.payload, 160))

	if r.plain != nil || r.stream != nil {
		fmt.Fprintf(out, "\nOverhead, one request at a time: %d warm-up, then %d rounds × %d to each target, interleaved in pairs (upstream directly and one proxy)\n", o.warmup, o.rounds, o.perRound)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tmedian of rounds\tIQR of rounds\tp50\tp90\tp99\terrors\t")
		for _, x := range []struct {
			name     string
			res, anc *overheadResult
		}{{"plain (whole answer)", r.plain, r.plainAnchor}, {"streaming (first event)", r.stream, r.streamAnchor}} {
			for _, y := range []struct {
				res   *overheadResult
				proxy string
			}{{x.res, "sov serve"}, {x.anc, "a bare net/http proxy"}} {
				if y.res == nil {
					continue
				}
				for _, s := range []struct {
					name string
					s    series
				}{{"upstream directly", y.res.direct}, {"through " + y.proxy, y.res.gw}} {
					d := summarize(s.s.all)
					q1, q3 := iqr(s.s.roundMedians)
					fmt.Fprintf(tw, "%s, %s\t%s\t%s – %s\t%s\t%s\t%s\t%d\t\n", x.name, s.name, ms(median(s.s.roundMedians)),
						ms(q1), ms(q3), ms(d.p50), ms(d.p90), ms(d.p99), s.s.failed())
				}
				dd, gd := summarize(y.res.direct.all), summarize(y.res.gw.all)
				rounds, _, _ := y.res.added()
				fmt.Fprintf(tw, "%s, added by %s\t%s\t\t%s\t%s\t%s\t\t\n", x.name, y.proxy, msSigned(rounds), msSigned(gd.p50-dd.p50), msSigned(gd.p90-dd.p90), msSigned(gd.p99-dd.p99))
			}
		}
		tw.Flush()
	}

	if r.gwLoad != nil {
		fmt.Fprintf(out, "\nLoad: open loop at %d req/s (latency from each send; lag: how late sends were against the schedule)\n", o.rate)
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "\tduration\tsent\tok\terrors\tsend rate\tthroughput\tp50\tp99\tmax\tlag p99\t")
		for _, l := range []*loadResult{r.baseline, r.gwLoad} {
			if l == nil {
				continue
			}
			d := summarize(l.ok)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.1f/s\t%.1f/s\t%s\t%s\t%s\t%s\t\n", l.target, l.elapsed.Round(100*time.Millisecond),
				l.sent, len(l.ok), l.failed(), l.sendRate(), l.throughput(), ms(d.p50), ms(d.p99), ms(d.max), ms(l.lag.p99))
		}
		tw.Flush()
		for _, l := range []*loadResult{r.baseline, r.gwLoad} {
			if l != nil && l.failed() > 0 {
				fmt.Fprintf(out, "errors %s: %s\n", l.target, errorList(l.errors))
			}
		}

		first, last, window := rssGrowth(r.rss, r.settle())
		fmt.Fprintf(out, "\nsov serve RSS: %s idle before load; during load (%d samples, every 500 ms) peak %s, first %s average %s, last %s average %s; VmHWM %s\n",
			mb(r.idleRSS), len(r.rss), mb(maxRSS(r.rss)), window.Round(time.Second), mb(first), window.Round(time.Second), mb(last), mb(r.hwm))
		if len(r.cpu) > 0 && r.phase > 0 {
			fmt.Fprintf(out, "CPU time during the gateway load phase (%s, %d requests):\n", r.phase.Round(100*time.Millisecond), r.gwLoad.sent)
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "\twhere\tCPU time\tof one core\tper 1k requests\t")
			for _, c := range r.cpu {
				per := time.Duration(0)
				if r.gwLoad.sent > 0 {
					per = c.cpu * 1000 / time.Duration(r.gwLoad.sent)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f%%\t%s\t\n", c.name, c.where, c.cpu.Round(10*time.Millisecond),
					100*c.cpu.Seconds()/r.phase.Seconds(), per.Round(time.Millisecond))
			}
			tw.Flush()
		}
	}

	fmt.Fprintf(out, "\naudit log: %d inference entries for %d requests sent to the gateway; %s", r.auditInference, r.gwRequests, r.auditVerify)
	if r.auditDropped >= 0 {
		fmt.Fprintf(out, "; writer dropped %.0f, pending %.0f at the end of the load", r.auditDropped, r.auditPending)
	}
	if r.auditErr != nil {
		fmt.Fprintf(out, "; error: %v", r.auditErr)
	}
	fmt.Fprintln(out)

	fmt.Fprintln(out, "\nTargets (issue 5, on 2 cores)")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tmeasured\ttarget\tverdict")
	for _, v := range verdicts(r) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.metric, v.measured, v.target, v.status)
	}
	tw.Flush()
}

// errorList formats error counts, most frequent first.
func errorList(m map[string]int) string {
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range ks {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, "; ")
}
