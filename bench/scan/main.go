// Command scan benchmarks `sov model scan` on a PyTorch zip checkpoint of
// at least 1 GiB against a Python anchor measured in the same run.
//
// It writes (or reuses, in -dir) two checkpoints laid out as torch.save
// lays out a state_dict (see checkpoint.go): a clean one, and one with a
// malicious pickle hidden in a member whose name does not end in .pkl.
// On a warm page cache it then times, -runs times each (the median is
// reported):
//
//   - cat FILE > /dev/null: reading every byte once, what a scanner that
//     reads the whole file would at least cost;
//   - sov model scan FILE --json (the built binary, a process per run);
//   - the anchor: a Python script doing what picklescan-style scanners do
//     (zipfile, then pickletools.genops over every *.pkl member);
//   - scan.Blob inside this process, counting the bytes it reads;
//
// with the start-up time of each process (sov --help; python3 with the
// anchor's imports) for reference, and prints each time, its throughput (file size ÷ time), each scanner's
// verdict, and PASS or MISS against the target of 1 GB/s for sov. A
// wrong sov verdict (clean file not innocuous, hidden pickle not
// dangerous) is an error; a MISS is not.
//
//	go run ./bench/scan [-size 1GiB] [-runs 3] [-tensors 300] [-short]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"sov.dev/sov/internal/scan"
)

// targetGBps is the target for the scan: 1 GB/s.
const targetGBps = 1.0

func main() {
	size := flag.String("size", "1GiB", "checkpoint size, at least (e.g. 1GiB, 256MiB)")
	runs := flag.Int("runs", 3, "timed runs of each command; the median is reported")
	tensors := flag.Int("tensors", 300, "tensors in the state dict (at least 3)")
	short := flag.Bool("short", false, "quick check: -size 256MiB -runs 1")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "sov-bench-scan"), "where the checkpoints are written and kept for later runs")
	sov := flag.String("sov", "", "sov binary (default: build ./cmd/sov)")
	python := flag.String("python", "python3", "Python 3 interpreter for the anchor")
	flag.Parse()
	if *short {
		*size, *runs = "256MiB", 1
	}
	if err := run(*size, *runs, *tensors, *dir, *sov, *python); err != nil {
		fmt.Fprintln(os.Stderr, "bench/scan:", err)
		os.Exit(1)
	}
}

// variant is one of the two checkpoints.
type variant struct {
	title, file string
	hidden      bool
	size, read  int64 // file size; bytes the in-process scan read
}

// result is one command's timings and what it said.
type result struct {
	name             string
	median, min, max time.Duration
	verdict, detail  string
}

func run(sizeFlag string, runs, tensors int, dir, sov, python string) error {
	size, err := parseSize(sizeFlag)
	if err != nil {
		return err
	}
	if runs < 1 {
		return fmt.Errorf("-runs %d: need at least 1", runs)
	}
	ts, err := planTensors(size, tensors)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath(python); err != nil {
		return fmt.Errorf("the anchor needs Python 3: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "sov-bench-scan-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if sov == "" {
		sov = filepath.Join(work, "sov")
		build := exec.Command("go", "build", "-o", sov, "./cmd/sov")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building sov: %w", err)
		}
	}
	script := filepath.Join(work, "anchor.py")
	if err := os.WriteFile(script, []byte(anchorScript), 0o644); err != nil {
		return err
	}

	variants := []*variant{
		{title: "clean checkpoint", hidden: false},
		{title: "hidden pickle in " + hiddenMember, hidden: true},
	}
	var pklSize int
	for _, v := range variants {
		v.file = checkpointFile(dir, size, tensors, v.hidden)
		ms := checkpointMembers(ts, v.hidden)
		pklSize = len(ms[0].data)
		start := time.Now()
		wrote, err := ensureCheckpoint(v.file, ms)
		if err != nil {
			return err
		}
		fi, err := os.Stat(v.file)
		if err != nil {
			return err
		}
		v.size = fi.Size()
		if wrote {
			fmt.Printf("wrote %s (%s) in %s\n", v.file, human(v.size), time.Since(start).Round(time.Millisecond))
		} else {
			fmt.Printf("reusing %s (%s)\n", v.file, human(v.size))
		}
		// Warm the page cache so that every contender reads from memory.
		if err := warm(v.file); err != nil {
			return err
		}
	}

	home := filepath.Join(work, "sovhome")
	sovEnv := append(os.Environ(), "SOV_HOME="+home)
	var table [][]result
	// What each contender pays before it reads anything.
	var startup []result
	for _, c := range []struct {
		name string
		cmd  func() *exec.Cmd
	}{
		{"sov --help", func() *exec.Cmd { c := exec.Command(sov, "--help"); c.Env = sovEnv; return c }},
		{"python3 + the anchor's imports", func() *exec.Cmd {
			return exec.Command(python, "-c", "import json, pickletools, sys, zipfile")
		}},
	} {
		r, err := measure(c.name, runs, c.cmd, nil)
		if err != nil {
			return err
		}
		startup = append(startup, r)
	}
	for _, v := range variants {
		var rows []result
		cat, err := measure("cat FILE > /dev/null", runs, func() *exec.Cmd {
			return exec.Command("sh", "-c", `cat "$0" > /dev/null`, v.file)
		}, nil)
		if err != nil {
			return err
		}
		rows = append(rows, cat)
		sovRes, err := measure("sov model scan FILE --json", runs, func() *exec.Cmd {
			c := exec.Command(sov, "model", "scan", v.file, "--json")
			c.Env = sovEnv
			return c
		}, sovVerdict)
		if err != nil {
			return err
		}
		rows = append(rows, sovRes)
		anchor, err := measure("anchor: zipfile + pickletools", runs, func() *exec.Cmd {
			return exec.Command(python, script, v.file)
		}, anchorVerdict)
		if err != nil {
			return err
		}
		rows = append(rows, anchor)
		inproc, read, err := scanInProcess(v.file, runs)
		if err != nil {
			return err
		}
		rows = append(rows, inproc)
		v.read = read
		table = append(table, rows)
		want := "innocuous"
		if v.hidden {
			want = "dangerous"
		}
		if sovRes.verdict != want {
			return fmt.Errorf("sov's verdict on the %s is %s, want %s: %s", v.title, sovRes.verdict, want, sovRes.detail)
		}
		if inproc.verdict != want {
			return fmt.Errorf("scan.Blob's verdict on the %s is %s, want %s", v.title, inproc.verdict, want)
		}
		if v.hidden && !strings.Contains(sovRes.detail, hiddenMember) {
			return fmt.Errorf("sov did not report the hidden member %s: %s", hiddenMember, sovRes.detail)
		}
	}

	printReport(variants, table, startup, tensors, pklSize, runs)
	fmt.Printf("(checkpoints kept in %s for the next run; remove them with rm -r %s)\n", dir, dir)
	return nil
}

// printReport prints the table: start-up floors, then per checkpoint
// each command's median, min, GB/s and verdict, and PASS or MISS.
func printReport(variants []*variant, table [][]result, startup []result, tensors, pklSize, runs int) {
	fmt.Printf("\nPyTorch zip checkpoint: %d bf16 tensors, %s pickle, stored members aligned to 64 bytes\n",
		tensors, human(int64(pklSize)))
	fmt.Printf("warm page cache (each file read once before timing), median of %d run(s), a new process per run\n\n", runs)
	fmt.Printf("%-32s %10s %10s %9s  %s\n", "", "median", "min", "GB/s", "verdict")
	pass := true
	fmt.Println("process start-up, for reference")
	for _, r := range startup {
		fmt.Printf("  %-30s %10s %10s\n", r.name, r.median.Round(10*time.Microsecond), r.min.Round(10*time.Microsecond))
	}
	for i, v := range variants {
		fmt.Printf("%s, %s\n", v.title, human(v.size))
		for _, r := range table[i] {
			gbps := float64(v.size) / r.median.Seconds() / 1e9
			verdict := r.verdict
			if r.detail != "" {
				verdict += " (" + r.detail + ")"
			}
			fmt.Printf("  %-30s %10s %10s %9.2f  %s\n", r.name, r.median.Round(10*time.Microsecond),
				r.min.Round(10*time.Microsecond), gbps, verdict)
		}
		s, a := table[i][1], table[i][2]
		fmt.Printf("  sov is %.2fx the anchor's speed; the in-process scan read %s of the file\n",
			a.median.Seconds()/s.median.Seconds(), human(v.read))
		if float64(v.size)/s.median.Seconds()/1e9 < targetGBps {
			pass = false
		}
	}
	status := "PASS"
	if !pass {
		status = "MISS"
	}
	fmt.Printf("\ntarget: sov scans at ≥ %.0f GB/s on both checkpoints: %s\n", targetGBps, status)
}

// measure runs cmd runs times and returns the timings; parse, if set,
// reads the last run's output into a verdict and a detail.
func measure(name string, runs int, cmd func() *exec.Cmd, parse func(stdout []byte, exit int) (string, string, error)) (result, error) {
	var times []time.Duration
	var stdout bytes.Buffer
	exit := 0
	for range runs {
		c := cmd()
		exit = 0
		var stderr bytes.Buffer
		stdout.Reset()
		c.Stdout, c.Stderr = &stdout, &stderr
		start := time.Now()
		err := c.Run()
		el := time.Since(start)
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee) && parse != nil:
			exit = ee.ExitCode() // scanners exit non-zero for findings
		case err != nil:
			return result{}, fmt.Errorf("%s: %v: %s", name, err, stderr.String())
		}
		times = append(times, el)
	}
	slices.Sort(times)
	r := result{name: name, median: times[len(times)/2], min: times[0], max: times[len(times)-1]}
	if parse != nil {
		var err error
		if r.verdict, r.detail, err = parse(stdout.Bytes(), exit); err != nil {
			return result{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	return r, nil
}

// sovVerdict reads `sov model scan --json` output: the verdict, and for
// a file that is not innocuous its worst findings.
func sovVerdict(out []byte, exit int) (string, string, error) {
	var rep struct {
		Verdict string `json:"verdict"`
		Files   []struct {
			Format   string `json:"format"`
			Findings []struct {
				Rule     string `json:"rule"`
				Severity string `json:"severity"`
				Message  string `json:"message"`
				Location string `json:"location"`
			} `json:"findings"`
		} `json:"files"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return "", "", fmt.Errorf("reading its JSON (exit status %d): %w", exit, err)
	}
	if len(rep.Files) != 1 {
		return "", "", fmt.Errorf("report has %d files, want 1", len(rep.Files))
	}
	if want := map[string]int{"innocuous": 0, "suspicious": 1, "dangerous": 2}[rep.Verdict]; want != exit {
		return "", "", fmt.Errorf("exit status %d does not match the verdict %q", exit, rep.Verdict)
	}
	f := rep.Files[0]
	if f.Format != "pytorch-zip" {
		return "", "", fmt.Errorf("the checkpoint was read as %q, not pytorch-zip", f.Format)
	}
	var details []string
	for _, fd := range f.Findings {
		if fd.Severity == rep.Verdict {
			details = append(details, fd.Rule+" at "+fd.Location+": "+fd.Message)
		}
	}
	return rep.Verdict, strings.Join(details, "; "), nil
}

// anchorVerdict reads the anchor script's JSON.
func anchorVerdict(out []byte, _ int) (string, string, error) {
	var rep struct {
		Members []string          `json:"members"`
		Imports map[string]string `json:"imports"`
		Verdict string            `json:"verdict"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return "", "", fmt.Errorf("reading its JSON: %w", err)
	}
	return rep.Verdict, fmt.Sprintf("read %s, %d imports", strings.Join(rep.Members, ", "), len(rep.Imports)), nil
}

// scanInProcess times scan.Blob on the file inside this process (no
// process start, no JSON), counting the bytes the scanner reads.
func scanInProcess(file string, runs int) (result, int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return result{}, 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return result{}, 0, err
	}
	var times []time.Duration
	var res *scan.FileResult
	cr := &countingReaderAt{r: f}
	for range runs {
		cr.n.Store(0)
		start := time.Now()
		res, err = scan.Blob(context.Background(), filepath.Base(file), cr, fi.Size(), scan.Options{})
		if err != nil {
			return result{}, 0, err
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	r := result{name: "sov scan.Blob, in-process", median: times[len(times)/2], min: times[0], max: times[len(times)-1],
		verdict: string(res.Verdict)}
	return r, cr.n.Load(), nil
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

func warm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10) + " B"
}

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 || v*float64(u.mult) > 1<<50 {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return int64(v * float64(u.mult)), nil
		}
	}
	return 0, fmt.Errorf("bad size %q: use a unit such as GiB or MiB", s)
}
