// Command vault benchmarks the vault's import and verify against sha256sum
// on the same files in the same run.
//
// It writes a synthetic safetensors model of the requested size in two
// shards (default 2 GiB: two ~1 GiB shards), then times, on warm page cache:
//
//   - sha256sum over the model's files (the anchor),
//   - `sov model import` of the model directory into a fresh SOV_HOME
//     (hash + copy + fsync of every byte),
//   - `sov model verify` of the imported model (re-hash every blob),
//   - a plain sequential write+fsync of the same bytes (the disk's limit),
//
// and prints each time, its throughput and the ratio to sha256sum.
//
//	go run ./bench/vault [-size 2GiB] [-dir DIR] [-runs 3]
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"sov.dev/sov/internal/synth"
)

func main() {
	size := flag.String("size", "2GiB", "model size (e.g. 2GiB, 512MiB)")
	dir := flag.String("dir", "", "work directory (default: a new temporary directory, removed afterwards)")
	runs := flag.Int("runs", 3, "timed runs of each command; the median is reported")
	sov := flag.String("sov", "", "sov binary (default: build ./cmd/sov)")
	flag.Parse()
	if err := run(*size, *dir, *runs, *sov); err != nil {
		fmt.Fprintln(os.Stderr, "bench/vault:", err)
		os.Exit(1)
	}
}

func run(sizeFlag, dir string, runs int, sov string) error {
	total, err := parseSize(sizeFlag)
	if err != nil {
		return err
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "sov-bench-vault-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	if sov == "" {
		sov = filepath.Join(dir, "sov")
		build := exec.Command("go", "build", "-o", sov, "./cmd/sov")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building sov: %w", err)
		}
	}
	model := filepath.Join(dir, "model")
	fmt.Printf("writing a %s synthetic safetensors model in 2 shards to %s\n", sizeFlag, model)
	if err := os.MkdirAll(model, 0o755); err != nil {
		return err
	}
	files, err := synth.WriteShardedSafetensors(model, synth.LargeModelSpec(total, 1), 2)
	if err != nil {
		return err
	}
	var bytesTotal int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return err
		}
		bytesTotal += fi.Size()
	}
	sort.Strings(files)
	// Warm the page cache so that every contender reads from memory.
	for _, f := range files {
		if err := warm(f); err != nil {
			return err
		}
	}

	home := filepath.Join(dir, "sovhome")
	sovEnv := append(os.Environ(), "SOV_HOME="+home)
	var results []result
	measure := func(name string, setup func() error, cmd func() *exec.Cmd) error {
		var times []time.Duration
		for i := 0; i < runs; i++ {
			if setup != nil {
				if err := setup(); err != nil {
					return err
				}
			}
			c := cmd()
			var stderr bytes.Buffer
			c.Stdout, c.Stderr = io.Discard, &stderr
			start := time.Now()
			if err := c.Run(); err != nil {
				return fmt.Errorf("%s: %v: %s", name, err, stderr.String())
			}
			times = append(times, time.Since(start))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		results = append(results, result{name: name, median: times[len(times)/2], min: times[0], max: times[len(times)-1]})
		return nil
	}
	if _, err := exec.LookPath("sha256sum"); err != nil {
		return errors.New("sha256sum is not installed (coreutils)")
	}
	if err := measure("sha256sum (anchor)", nil, func() *exec.Cmd {
		return exec.Command("sha256sum", files...)
	}); err != nil {
		return err
	}
	fresh := func() error { return os.RemoveAll(home) }
	if err := measure("sov model import", fresh, func() *exec.Cmd {
		c := exec.Command(sov, "model", "import", model, "--name", "bench")
		c.Env = sovEnv
		return c
	}); err != nil {
		return err
	}
	if err := measure("sov model verify", nil, func() *exec.Cmd {
		c := exec.Command(sov, "model", "verify", "bench")
		c.Env = sovEnv
		return c
	}); err != nil {
		return err
	}
	// The disk's own limit for what import must do: write and fsync every byte.
	sink := filepath.Join(dir, "dd.out")
	if _, err := exec.LookPath("dd"); err == nil {
		if err := measure("dd write+fsync (disk limit)", func() error { return os.RemoveAll(sink) }, func() *exec.Cmd {
			args := append([]string{"-c", `cat "$@" | dd of="$0" bs=1M conv=fsync status=none`, sink}, files...)
			return exec.Command("sh", args...)
		}); err != nil {
			return err
		}
		os.Remove(sink)
	}

	anchor := results[0].median
	fmt.Printf("\n%d files, %.2f GiB, median of %d runs, warm page cache\n", len(files), float64(bytesTotal)/(1<<30), runs)
	fmt.Printf("%-30s %10s %10s %10s  %s\n", "", "median", "min", "GB/s", "vs sha256sum")
	for _, r := range results {
		fmt.Printf("%-30s %10s %10s %10.2f  %.2fx\n", r.name, r.median.Round(time.Millisecond), r.min.Round(time.Millisecond),
			float64(bytesTotal)/r.median.Seconds()/1e9, anchor.Seconds()/r.median.Seconds())
	}
	return nil
}

type result struct {
	name             string
	median, min, max time.Duration
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

func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"B", 1}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("bad size %q", s)
			}
			return int64(v * float64(u.mult)), nil
		}
	}
	return 0, fmt.Errorf("bad size %q: use a unit such as GiB or MiB", s)
}
