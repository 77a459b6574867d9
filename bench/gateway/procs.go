//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"sov.dev/sov/internal/upstream/upstreamtest"
)

// benchModel is the model id the upstream serves and the gateway routes.
const benchModel = "bench-model"

// pinnedEnv marks a process that pinSelf has already re-executed.
const pinnedEnv = "SOV_BENCH_GATEWAY_PINNED"

// Which CPUs the processes run on with -pin.
const (
	serveCPU = "0"
	otherCPU = "1"
)

// pinSelf re-executes the benchmark under `taskset -c 1` so that every
// thread of it (load generator) and of the upstream child it starts runs on
// CPU 1; sov serve is then started on CPU 0. It returns only in the pinned
// process.
func pinSelf() error {
	if os.Getenv(pinnedEnv) != "" {
		return nil
	}
	if runtime.NumCPU() < 2 {
		return errors.New("-pin needs at least 2 CPUs")
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return errors.New("-pin needs taskset (util-linux)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := append([]string{"taskset", "-c", otherCPU, self}, os.Args[1:]...)
	return syscall.Exec(taskset, args, append(os.Environ(), pinnedEnv+"=1"))
}

// pinned reports whether -pin is in effect in this process.
func pinned() bool { return os.Getenv(pinnedEnv) != "" }

// buildSov builds ./cmd/sov into dir.
func buildSov(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "sov")
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/sov")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building sov (run from the repository root): %w", err)
	}
	return out, nil
}

// child is a process the benchmark started; stop ends it.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
	once sync.Once
}

func startChild(name string, cmd *exec.Cmd) (*child, error) {
	// Should the benchmark die without cleaning up, the kernel ends the
	// child too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end (SIGTERM), waits up to grace, then kills it.
// It returns the process's exit error when it ended by itself in time.
func (c *child) stop(grace time.Duration) error {
	var err error
	c.once.Do(func() {
		if c.exited() {
			err = c.err
			return
		}
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
			err = c.err
		case <-time.After(grace):
			c.cmd.Process.Kill()
			<-c.done
			err = fmt.Errorf("%s did not stop within %s; killed", c.name, grace)
		}
	})
	return err
}

// startUpstream starts this program again as the test upstream (see
// runUpstreamChild) and returns it with its base URL.
func startUpstream(ctx context.Context, latency time.Duration) (*child, string, error) {
	return startSelf(ctx, "the test upstream", "upstream: ", "-upstream-child", "-latency", latency.String())
}

// startAnchor starts this program again as the anchor proxy in front of
// upstreamURL (see runAnchorChild) and returns it with its base URL.
func startAnchor(ctx context.Context, upstreamURL string) (*child, string, error) {
	return startSelf(ctx, "the anchor proxy", "anchor: ", "-anchor-child", upstreamURL)
}

// startSelf starts this program with args as a child that prints
// prefix+URL when it serves, and returns it with that URL.
func startSelf(ctx context.Context, name, prefix string, args ...string) (*child, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(self, args...)
	stdin, err := cmd.StdinPipe() // closing it (or our death) ends the child
	if err != nil {
		return nil, "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = os.Stderr
	c, err := startChild(name, cmd)
	if err != nil {
		return nil, "", err
	}
	// Keep the pipe referenced for the child's lifetime.
	go func() { <-c.done; stdin.Close() }()
	line, err := readLine(ctx, stdout, 30*time.Second, func(s string) bool { return strings.HasPrefix(s, prefix) })
	if err != nil {
		c.stop(5 * time.Second)
		return nil, "", fmt.Errorf("%s did not start: %w", name, err)
	}
	go io.Copy(io.Discard, stdout)
	return c, strings.TrimPrefix(line, prefix), nil
}

// runAnchorChild is the -anchor-child mode: a bare reverse proxy built on
// net/http (net/http/httputil.ReverseProxy with the default transport, no
// auth, no limits, no logging) in front of the upstream. What it adds over
// calling the upstream directly is the floor of any Go proxy on net/http
// on this machine, measured in the same run as sov serve.
func runAnchorChild(upstreamURL string) error {
	u, err := url.Parse(upstreamURL)
	if err != nil {
		return err
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1024}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln)
	defer srv.Close()
	fmt.Printf("anchor: http://%s\n", ln.Addr())
	waitForParent()
	return nil
}

// waitForParent returns when the child's standard input closes (the
// benchmark ended or died) or the child is signalled.
func waitForParent() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
}

// runUpstreamChild is the -upstream-child mode: it serves the test upstream
// on a random loopback port, prints "upstream: URL", and runs until its
// standard input closes or it is signalled.
func runUpstreamChild(latency time.Duration) error {
	s := upstreamtest.New(upstreamtest.Options{
		Models:      []string{benchModel},
		Latency:     latency,
		MaxRecorded: -1, // recording every request would cost the upstream CPU
	})
	defer s.Close()
	fmt.Printf("upstream: %s\n", s.URL)
	waitForParent()
	return nil
}

// serveConfig is the sov serve configuration: the engine off, the test
// upstream as the only backend, a tenant limited to its jurisdiction.
func serveConfig(upstreamURL string) string {
	return fmt.Sprintf(`# written by bench/gateway
engine:
  disabled: true
backends:
  - name: mock
    url: %s
    models: [%s]
    site: loopback
    jurisdiction: eu
tenants:
  - name: bench
    jurisdictions: [eu]
`, upstreamURL, benchModel)
}

var servingRE = regexp.MustCompile(`serving on (https?://[^\s(]+)`)

// parseServing returns the URL in sov serve's "sov: serving on URL (...)"
// line, or "".
func parseServing(line string) string {
	m := servingRE.FindStringSubmatch(line)
	if m == nil {
		return ""
	}
	return strings.TrimRight(m[1], "/")
}

// startServe starts `sov serve` on a random loopback port, its output going
// to logPath, and returns it with its base URL.
func startServe(ctx context.Context, sov, home, cfgPath, logPath string, procs int) (*child, string, error) {
	args := []string{sov, "serve", "--addr", "127.0.0.1:0", "--config", cfgPath}
	if pinned() {
		args = append([]string{"taskset", "-c", serveCPU}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "SOV_HOME="+home)
	if procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(procs))
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, "", err
	}
	cmd.Stdout = logf
	c, err := startChild("sov serve", cmd)
	if err != nil {
		logf.Close()
		return nil, "", err
	}
	// Everything it writes goes to the log; the first lines are also read
	// for the address.
	pr, pw := io.Pipe()
	go func() {
		io.Copy(io.MultiWriter(logf, pw), stderr)
		pw.Close()
		logf.Close()
	}()
	line, err := readLine(ctx, pr, 60*time.Second, func(s string) bool { return parseServing(s) != "" })
	go io.Copy(io.Discard, pr)
	if err != nil {
		c.stop(10 * time.Second)
		return nil, "", fmt.Errorf("sov serve did not start (its output is in %s): %w%s", logPath, err, tail(logPath))
	}
	return c, parseServing(line), nil
}

// readLine reads lines from r until one satisfies ok, r ends, ctx ends or
// timeout passes.
func readLine(ctx context.Context, r io.Reader, timeout time.Duration, ok func(string) bool) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if ok(sc.Text()) {
				ch <- result{line: sc.Text()}
				return
			}
		}
		err := sc.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		ch <- result{err: fmt.Errorf("its output ended: %w", err)}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-ch:
		return res.line, res.err
	case <-t.C:
		return "", fmt.Errorf("no answer within %s", timeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// tail returns the last lines of a file, for error messages.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "\n" + strings.Join(lines, "\n")
}

// procStat is what /proc says about one process.
type procStat struct {
	cpu time.Duration // user + system time of all its threads
	rss int64         // resident set size now (VmRSS), bytes
	hwm int64         // peak resident set size (VmHWM), bytes
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

func readProcStat(pid int) (procStat, error) {
	var st procStat
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	if st.cpu, err = parseStatCPU(string(stat)); err != nil {
		return st, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	if st.rss, err = statusBytes(string(status), "VmRSS"); err != nil {
		return st, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	if st.hwm, err = statusBytes(string(status), "VmHWM"); err != nil {
		return st, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return st, nil
}

// parseStatCPU returns utime+stime from the contents of /proc/PID/stat.
// The command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so fields are counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("no command name")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		// 2^40 ticks is 348 years: anything larger is not a CPU time (and
		// would overflow a time.Duration).
		if err != nil || n < 0 || n > 1<<40 {
			return 0, fmt.Errorf("bad cpu time %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// statusBytes returns a "Name:   1234 kB" field of /proc/PID/status in
// bytes.
func statusBytes(status, name string) (int64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		rest, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: unexpected %q", name, strings.TrimSpace(rest))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 || n > 1<<42 { // 4 PiB
			return 0, fmt.Errorf("%s: bad number %q", name, f[0])
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("no %s line", name)
}

// selfCPU returns this process's user + system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssSample is one reading of a process's resident set size.
type rssSample struct {
	at  time.Duration // since sampling began
	rss int64
}

// sampleRSS reads pid's VmRSS every interval until ctx ends and returns the
// readings.
func sampleRSS(ctx context.Context, pid int, interval time.Duration) []rssSample {
	var out []rssSample
	start := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if st, err := readProcStat(pid); err == nil {
			out = append(out, rssSample{at: time.Since(start), rss: st.rss})
		}
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
		}
	}
}

// rssGrowth compares the average RSS of the first and the last window of
// the samples (window: 10 s, or a third of the run when shorter). Samples
// in the first skip are left out: while the first answers are still
// outstanding (a slow upstream), memory grows with the requests in flight,
// which is not growth over time.
func rssGrowth(samples []rssSample, skip time.Duration) (first, last int64, window time.Duration) {
	if len(samples) == 0 {
		return 0, 0, 0
	}
	end := samples[len(samples)-1].at
	skip = min(skip, end/4)
	window = min(10*time.Second, (end-skip)/3)
	var fs, fn, ls, ln int64
	for _, s := range samples {
		if s.at >= skip && s.at <= skip+window {
			fs += s.rss
			fn++
		}
		if s.at >= end-window {
			ls += s.rss
			ln++
		}
	}
	return fs / max(fn, 1), ls / max(ln, 1), window
}
