//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"sov.dev/sov/internal/audit"
)

// report is everything one run measured.
type report struct {
	opts      options
	sovBuild  string // "built" or the -sov path
	upstream  string // URL
	gateway   string // URL
	anchorURL string // the anchor proxy's URL; "" when not measured

	plain, stream             *overheadResult
	plainAnchor, streamAnchor *overheadResult // direct vs the anchor proxy; nil when not measured

	baseline, gwLoad *loadResult
	rss              []rssSample   // sov serve during the gateway load phase
	idleRSS          int64         // sov serve before any load
	hwm              int64         // sov serve's peak RSS over its life (VmHWM)
	cpu              []cpuUse      // during the gateway load phase
	phase            time.Duration // wall time of the gateway load phase

	auditDropped, auditPending float64 // from /metrics at the end; -1 unknown
	gwRequests                 int     // inference requests sent to the gateway
	auditInference             int     // inference entries in the log after shutdown
	auditVerify                string  // the verifier's summary
	auditOK                    bool
	auditErr                   error
}

// settle is how long the load phase takes to reach its steady number of
// requests in flight: a few upstream latencies.
func (r *report) settle() time.Duration { return 2 * r.opts.latency }

// cpuUse is one process's CPU time over a phase.
type cpuUse struct {
	name  string
	where string // CPU it was pinned to, or "any"
	cpu   time.Duration
}

func run(ctx context.Context, o options) (err error) {
	dir, err := os.MkdirTemp("", "sov-bench-gateway-")
	if err != nil {
		return err
	}
	if o.keep {
		defer fmt.Printf("\nwork directory kept: %s (serve.yaml, home/, serve.log)\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	rep := &report{opts: o, auditDropped: -1, auditPending: -1}
	sov := o.sov
	rep.sovBuild = sov
	if sov == "" {
		fmt.Fprintln(os.Stderr, "building sov …")
		if sov, err = buildSov(ctx, dir); err != nil {
			return err
		}
		rep.sovBuild = "go build ./cmd/sov"
	}

	up, upURL, err := startUpstream(ctx, o.latency)
	if err != nil {
		return err
	}
	defer up.stop(5 * time.Second)
	rep.upstream = upURL

	home := filepath.Join(dir, "home")
	cfgPath := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfgPath, []byte(serveConfig(upURL)), 0o600); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "serve.log")
	srv, gwURL, err := startServe(ctx, sov, home, cfgPath, logPath, o.serveProcs)
	if err != nil {
		return err
	}
	defer srv.stop(30 * time.Second)
	rep.gateway = gwURL
	fmt.Fprintf(os.Stderr, "upstream %s (pid %d), sov serve %s (pid %d)\n", upURL, up.pid(), gwURL, srv.pid())
	if err := waitReady(ctx, gwURL, 30*time.Second); err != nil {
		return fmt.Errorf("%w%s", err, tail(logPath))
	}
	key, err := createKey(ctx, sov, home)
	if err != nil {
		return err
	}

	conns := max(64, o.rate) // enough for every request in flight at once with a slow upstream
	direct := newTarget("upstream directly", upURL, "", conns, o.timeout)
	gw := newTarget("through sov serve", gwURL, key, conns, o.timeout)
	defer direct.close()
	defer gw.close()
	if err := waitRoutable(ctx, gw, o.payload, 30*time.Second); err != nil {
		return fmt.Errorf("%w%s", err, tail(logPath))
	}
	rep.gwRequests++ // waitRoutable's successful request
	if st, err := readProcStat(srv.pid()); err == nil {
		rep.idleRSS = st.rss
	}

	alive := func() error {
		if srv.exited() {
			return fmt.Errorf("sov serve exited during the benchmark: %v%s", srv.err, tail(logPath))
		}
		if up.exited() {
			return fmt.Errorf("the test upstream exited during the benchmark: %v", up.err)
		}
		return nil
	}

	var anchor *target
	if o.mode != "load" && o.anchor {
		ap, apURL, err := startAnchor(ctx, upURL)
		if err != nil {
			return err
		}
		defer ap.stop(5 * time.Second)
		anchor = newTarget("bare net/http reverse proxy", apURL, "", conns, o.timeout)
		defer anchor.close()
		rep.anchorURL = apURL
	}

	if o.mode != "load" {
		for _, stream := range []bool{false, true} {
			what := "plain"
			if stream {
				what = "streaming"
			}
			fmt.Fprintf(os.Stderr, "overhead, %s: %d warm-up + %d rounds × %d requests to each target …\n", what, o.warmup, o.rounds, o.perRound)
			oo := overheadOptions{rounds: o.rounds, perRound: o.perRound, warmup: o.warmup, stream: stream, payload: o.payload}
			res, err := overhead(ctx, direct, gw, oo)
			rep.gwRequests += o.warmup + o.rounds*o.perRound
			if err != nil {
				return errors.Join(err, alive())
			}
			if stream {
				rep.stream = &res
			} else {
				rep.plain = &res
			}
			if anchor == nil {
				continue
			}
			// The anchor in its own pairs with the upstream, as sov serve
			// was: interleaving three targets would leave each process
			// idle longer between its requests than two do, and change
			// what is measured.
			fmt.Fprintf(os.Stderr, "overhead, %s, anchor: the same against a bare net/http reverse proxy …\n", what)
			ares, err := overhead(ctx, direct, anchor, oo)
			if err != nil {
				return err
			}
			if stream {
				rep.streamAnchor = &ares
			} else {
				rep.plainAnchor = &ares
			}
		}
		if err := alive(); err != nil {
			return err
		}
	}

	if o.mode != "overhead" {
		if o.baseline > 0 {
			fmt.Fprintf(os.Stderr, "load, upstream directly: %d req/s for %s …\n", o.rate, o.baseline)
			res := load(ctx, direct, loadOptions{rate: o.rate, duration: o.baseline, payload: o.payload, tag: "base"})
			rep.baseline = &res
			if err := ctx.Err(); err != nil {
				return err
			}
			direct.close()
		}
		fmt.Fprintf(os.Stderr, "load, through sov serve: %d req/s for %s …\n", o.rate, o.duration)
		before := map[string]time.Duration{}
		if st, err := readProcStat(srv.pid()); err == nil {
			before["serve"] = st.cpu
		}
		if st, err := readProcStat(up.pid()); err == nil {
			before["upstream"] = st.cpu
		}
		before["self"] = selfCPU()
		sctx, stopSampling := context.WithCancel(ctx)
		samples := make(chan []rssSample, 1)
		go func() { samples <- sampleRSS(sctx, srv.pid(), 500*time.Millisecond) }()
		start := time.Now()
		res := load(ctx, gw, loadOptions{rate: o.rate, duration: o.duration, payload: o.payload, tag: "load"})
		rep.phase = time.Since(start)
		stopSampling()
		rep.rss = <-samples
		rep.gwLoad = &res
		rep.gwRequests += res.sent
		where := func(cpu string) string {
			if pinned() {
				return "CPU " + cpu
			}
			return "any CPU"
		}
		if st, err := readProcStat(srv.pid()); err == nil {
			rep.cpu = append(rep.cpu, cpuUse{"sov serve", where(serveCPU), st.cpu - before["serve"]})
		}
		if st, err := readProcStat(up.pid()); err == nil {
			rep.cpu = append(rep.cpu, cpuUse{"test upstream", where(otherCPU), st.cpu - before["upstream"]})
		}
		rep.cpu = append(rep.cpu, cpuUse{"load generator", where(otherCPU), selfCPU() - before["self"]})
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := alive(); err != nil {
			return err
		}
	}

	if st, err := readProcStat(srv.pid()); err == nil {
		rep.hwm = st.hwm
	}
	rep.auditDropped, rep.auditPending = auditGauges(ctx, gwURL)

	// Stop the server (it flushes the audit log), then check the log.
	if err := srv.stop(60 * time.Second); err != nil {
		return fmt.Errorf("stopping sov serve: %w%s", err, tail(logPath))
	}
	rep.auditInference, rep.auditVerify, rep.auditOK, rep.auditErr = checkAudit(ctx, home)

	printReport(os.Stdout, rep)
	return nil
}

// waitReady polls the gateway's /readyz until it answers 200.
func waitReady(ctx context.Context, base string, timeout time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sov serve was not ready within %s: /readyz: %s", timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitRoutable sends requests through the gateway until one succeeds, so
// that the measured phases start with the backend known healthy.
func waitRoutable(ctx context.Context, gw *target, payload int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for i := 0; ; i++ {
		r := gw.call(ctx, "ready-"+strconv.Itoa(i), false, payload)
		if r.ok() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no request through sov serve succeeded within %s: %s %v", timeout, errorKind(r), r.err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// createKey creates the inference key the benchmark uses, with limits on
// (far above the load, so that they are checked but never refuse), in the
// tenant whose residency rule the router must apply.
func createKey(ctx context.Context, sov, home string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, sov, "keys", "create", "--name", "bench", "--tenant", "bench",
		"--rpm", "1000000", "--tpm", "1000000000", "--json")
	cmd.Env = append(os.Environ(), "SOV_HOME="+home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("sov keys create: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var resp struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.Key == "" {
		return "", fmt.Errorf("sov keys create --json: no \"key\" in %.200q", out)
	}
	return resp.Key, nil
}

// auditGauges reads the audit writer's dropped and pending entries from
// the gateway's /metrics (-1 when absent).
func auditGauges(ctx context.Context, base string) (dropped, pending float64) {
	dropped, pending = -1, -1
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return
	}
	resp, err := c.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	m := parseMetrics(io.LimitReader(resp.Body, 8<<20))
	if v, ok := m["sov_audit_dropped_entries"]; ok {
		dropped = v
	}
	if v, ok := m["sov_audit_pending_entries"]; ok {
		pending = v
	}
	return
}

// parseMetrics reads unlabelled samples ("name value") of the Prometheus
// text format; comments and labelled series are skipped.
func parseMetrics(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || strings.ContainsRune(line, '{') {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out
}

// checkAudit opens the stopped server's audit log, verifies it and counts
// its inference entries.
func checkAudit(ctx context.Context, home string) (inference int, summary string, ok bool, err error) {
	actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	l, err := audit.Open(actx, home, audit.Options{})
	if err != nil {
		return 0, "", false, err
	}
	defer l.Close()
	rep, err := l.Verify(actx, audit.VerifyOptions{})
	if err != nil {
		return 0, "", false, err
	}
	entries, err := l.Entries(actx, time.Time{}, 0)
	if err != nil {
		return 0, rep.Summary(), rep.OK, err
	}
	for _, e := range entries {
		if e.Kind == audit.KindInference {
			inference++
		}
	}
	return inference, rep.Summary(), rep.OK, nil
}

// cpuModel returns the processor's name from /proc/cpuinfo, or "".
func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// machine describes the processor: its name, how many CPUs the machine
// has online and how many this process may use.
func machine() string {
	online := 0
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if k, _, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "processor" {
				online++
			}
		}
	}
	s := fmt.Sprintf("%d CPUs online, %d usable by the benchmark, %s %s/%s", online, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if m := cpuModel(); m != "" {
		s = m + ", " + s
	}
	return s
}
