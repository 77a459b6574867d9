//go:build linux

// Command gateway benchmarks what `sov serve` adds to a request: its latency
// over calling the same upstream directly, and its latency, errors, memory
// and CPU under a constant open-loop load.
//
// It builds sov, starts a fast OpenAI-compatible test upstream with a fixed
// latency (internal/upstream/upstreamtest, in a child process so that its
// CPU is counted apart), and starts `sov serve` in a temporary SOV_HOME in
// front of it with the embedded engine off, one backend, a tenant
// restricted to the backend's jurisdiction, and an inference key with rate
// limits, so that authentication, limits, residency routing and the audit
// log are all on the path. Then:
//
//   - overhead: one request at a time, direct and gateway calls interleaved,
//     a warm-up and then R rounds of 25 small chat completions; the median
//     of round medians and p50/p90/p99 of each, and their differences; the
//     same for streams, timed to the first event;
//   - load: chat completions at a constant rate (open loop: a slow answer
//     does not delay the next request) with a unique prompt each, first
//     against the upstream directly for a short baseline, then through the
//     gateway for -duration; latency percentiles, errors by status, the
//     gateway's RSS every 500 ms and the CPU time of every process.
//
// It prints the figures next to the project's targets with PASS or MISS,
// and exits 0 on a miss (it is a benchmark); it exits non-zero only when it
// could not run. It must not be mistaken for a test: it measures the
// machine it runs on.
//
//	go run ./bench/gateway [-duration 60s] [-rate 1000] [-rounds 7] [-latency 1ms]
//	go run ./bench/gateway -duration 5s -rate 200      # a quick check
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command's flags.
type options struct {
	duration   time.Duration // load phase through the gateway
	baseline   time.Duration // load phase against the upstream directly
	rate       int           // requests per second in the load phases
	rounds     int           // overhead rounds
	perRound   int           // requests per overhead round and target
	warmup     int           // overhead warm-up requests per target
	latency    time.Duration // upstream latency before the first byte
	payload    int           // approximate request body size in bytes
	timeout    time.Duration // one request
	mode       string        // all, overhead or load
	pin        bool          // pin sov serve to CPU 0, the rest to CPU 1
	sov        string        // a prebuilt sov binary
	keep       bool          // keep the work directory
	serveProcs int           // GOMAXPROCS for sov serve (0: Go's default)
	anchor     bool          // measure the anchor proxy in overhead mode
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "load phase through the gateway")
	flag.DurationVar(&o.baseline, "baseline", 10*time.Second, "load phase against the upstream directly, for comparison (0: skip)")
	flag.IntVar(&o.rate, "rate", 1000, "requests per second in the load phases")
	flag.IntVar(&o.rounds, "rounds", 7, "overhead rounds")
	flag.IntVar(&o.perRound, "per-round", 25, "requests per overhead round to each target")
	flag.IntVar(&o.warmup, "warmup", 15, "overhead warm-up requests to each target")
	flag.DurationVar(&o.latency, "latency", time.Millisecond, "the upstream's latency before the first byte of an answer")
	flag.IntVar(&o.payload, "payload", 200, "approximate request body size in bytes (the prompt is padded)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	flag.StringVar(&o.mode, "mode", "all", "what to run: all, overhead or load")
	flag.BoolVar(&o.pin, "pin", false, "pin sov serve to CPU 0 and the upstream and load generator to CPU 1 (needs taskset and 2 CPUs)")
	flag.StringVar(&o.sov, "sov", "", "sov binary (default: build ./cmd/sov)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (config, SOV_HOME, serve log) and print where it is")
	flag.IntVar(&o.serveProcs, "serve-procs", 0, "GOMAXPROCS for sov serve (0: Go's default, all CPUs)")
	flag.BoolVar(&o.anchor, "anchor", true, "also measure a bare net/http reverse proxy (net/http/httputil) in front of the same upstream, the anchor, in overhead mode")
	child := flag.Bool("upstream-child", false, "internal: run only the test upstream (the benchmark starts itself this way)")
	anchorChild := flag.String("anchor-child", "", "internal: run only the anchor proxy in front of this upstream URL")
	flag.Parse()

	if *anchorChild != "" {
		if err := runAnchorChild(*anchorChild); err != nil {
			fmt.Fprintln(os.Stderr, "bench/gateway anchor:", err)
			os.Exit(1)
		}
		return
	}
	if *child {
		if err := runUpstreamChild(o.latency); err != nil {
			fmt.Fprintln(os.Stderr, "bench/gateway upstream:", err)
			os.Exit(1)
		}
		return
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/gateway:", err)
		os.Exit(2)
	}
	if o.pin {
		// Re-executes under taskset; returns only when already pinned.
		if err := pinSelf(); err != nil {
			fmt.Fprintln(os.Stderr, "bench/gateway:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/gateway:", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	switch {
	case o.mode != "all" && o.mode != "overhead" && o.mode != "load":
		return fmt.Errorf("-mode %q: want all, overhead or load", o.mode)
	case o.rate <= 0 || o.rate > 100000:
		return fmt.Errorf("-rate %d: want 1 to 100000", o.rate)
	case o.duration <= 0 || o.duration > 24*time.Hour:
		return fmt.Errorf("-duration %s: want more than 0 and at most 24h", o.duration)
	case o.baseline < 0 || o.baseline > 24*time.Hour:
		return fmt.Errorf("-baseline %s: want 0 to 24h", o.baseline)
	case o.rounds <= 0 || o.perRound <= 0 || o.warmup < 0:
		return fmt.Errorf("-rounds, -per-round must be positive and -warmup not negative")
	case o.latency < 0:
		return fmt.Errorf("-latency %s cannot be negative", o.latency)
	case o.timeout <= 0:
		return fmt.Errorf("-timeout %s must be positive", o.timeout)
	case o.payload < 0 || o.payload > 4<<20:
		return fmt.Errorf("-payload %d: want 0 to 4 MiB", o.payload)
	case o.serveProcs < 0:
		return fmt.Errorf("-serve-procs %d cannot be negative", o.serveProcs)
	}
	// Every sample of a load phase is kept; bound that.
	if n := float64(o.rate) * max(o.duration, o.baseline).Seconds(); n > 50e6 {
		return fmt.Errorf("-rate × -duration = %.0f requests: at most 50 million", n)
	}
	return nil
}
