// Command engine benchmarks sov's inference engine against llama.cpp and
// against the machine's memory bandwidth, on the same files in one run.
//
// It writes (or reuses, in -dir) the synthetic qwen2.5-0.5b model as Q8_0
// and Q4_K_M and the llama-3.2-1b model as Q4_K_M with `sov dev
// synth-model`, runs `sov bench` on each (pp512 and tg128 by default),
// measures memory read bandwidth, and, when LLAMA_BENCH names llama.cpp's
// llama-bench binary, runs it on the same files with the same threads.
// It prints tokens per second, the ratios sov / llama.cpp, and sov's
// generation speed against the bandwidth limit: bandwidth ÷ the bytes of
// weights read per generated token.
//
//	go run ./bench/engine [-dir DIR] [-threads N] [-p 512] [-n 128] [-r 3]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"sov.dev/sov/internal/engine"
)

type model struct{ arch, preset, typ string }

var models = []model{
	{"qwen2", "qwen2.5-0.5b", "Q8_0"},
	{"qwen2", "qwen2.5-0.5b", "Q4_K_M"},
	{"llama", "llama-3.2-1b", "Q4_K_M"},
}

func main() {
	dir := flag.String("dir", filepath.Join(os.TempDir(), "sov-bench-engine"), "where the synthetic models are written (kept for later runs)")
	threads := flag.Int("threads", engine.PhysicalCores(), "threads for sov and llama.cpp")
	pp := flag.Int("p", 512, "prompt tokens (pp test)")
	tg := flag.Int("n", 128, "generated tokens (tg test)")
	reps := flag.Int("r", 3, "repetitions")
	sov := flag.String("sov", "", "sov binary (default: build ./cmd/sov)")
	flag.Parse()
	if err := run(*dir, *threads, *pp, *tg, *reps, *sov); err != nil {
		fmt.Fprintln(os.Stderr, "bench/engine:", err)
		os.Exit(1)
	}
}

type benchResult struct {
	Test            string  `json:"test"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	Stddev          float64 `json:"stddev"`
	ModelBytes      int64   `json:"model_bytes"`
	RSSBytes        int64   `json:"rss_bytes"`
}

func run(dir string, threads, pp, tg, reps int, sov string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
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
	llama := os.Getenv("LLAMA_BENCH")
	bw := bandwidth(threads)
	fmt.Printf("memory read bandwidth (%d threads): %.1f GB/s\n", threads, bw/1e9)
	fmt.Printf("threads: %d, pp%d, tg%d, %d repetitions\n\n", threads, pp, tg, reps)
	fmt.Printf("%-24s %-7s %14s %14s %8s %12s %8s\n", "model", "test", "sov t/s", "llama.cpp t/s", "ratio", "limit t/s", "of limit")
	for _, m := range models {
		file := filepath.Join(dir, fmt.Sprintf("%s-%s.gguf", m.preset, m.typ))
		if _, err := os.Stat(file); err != nil {
			fmt.Fprintf(os.Stderr, "writing %s …\n", file)
			c := exec.Command(sov, "dev", "synth-model", "--arch", m.arch, "--preset", m.preset, "--type", m.typ, "-o", file)
			c.Stdout, c.Stderr = os.Stderr, os.Stderr
			if err := c.Run(); err != nil {
				return err
			}
		}
		var out bytes.Buffer
		c := exec.Command(sov, "bench", file, "-p", strconv.Itoa(pp), "-n", strconv.Itoa(tg), "-t", strconv.Itoa(threads), "-r", strconv.Itoa(reps), "--json")
		c.Stdout, c.Stderr = &out, os.Stderr
		if err := c.Run(); err != nil {
			return fmt.Errorf("sov bench %s: %w", file, err)
		}
		var res []benchResult
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			return err
		}
		var ref map[string]float64
		if llama != "" {
			var err error
			if ref, err = llamaBench(llama, file, threads, pp, tg, reps); err != nil {
				return err
			}
		}
		for _, r := range res {
			line := fmt.Sprintf("%-24s %-7s %8.2f ± %-4.1f", m.preset+" "+m.typ, r.Test, r.TokensPerSecond, r.Stddev)
			if v, ok := ref[r.Test]; ok {
				line += fmt.Sprintf(" %14.2f %7.2fx", v, r.TokensPerSecond/v)
			} else {
				line += fmt.Sprintf(" %14s %8s", "-", "-")
			}
			if r.Test[:2] == "tg" {
				limit := bw / float64(r.ModelBytes)
				line += fmt.Sprintf(" %12.1f %7.0f%%", limit, 100*r.TokensPerSecond/limit)
			}
			fmt.Println(line)
		}
		if len(res) > 0 {
			fmt.Printf("%-24s peak RSS %.0f MiB (weights %.0f MiB)\n", "", float64(res[len(res)-1].RSSBytes)/(1<<20), float64(res[0].ModelBytes)/(1<<20))
		}
	}
	if llama == "" {
		fmt.Println("\n(set LLAMA_BENCH=/path/to/llama-bench to compare with llama.cpp in the same run)")
	}
	return nil
}

// llamaBench runs llama.cpp's llama-bench and returns tokens/s per test.
func llamaBench(bin, file string, threads, pp, tg, reps int) (map[string]float64, error) {
	var out bytes.Buffer
	c := exec.Command(bin, "-m", file, "-p", strconv.Itoa(pp), "-n", strconv.Itoa(tg), "-t", strconv.Itoa(threads), "-r", strconv.Itoa(reps), "-o", "json")
	c.Stdout = &out
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("llama-bench %s: %w", file, err)
	}
	var rows []struct {
		NPrompt int     `json:"n_prompt"`
		NGen    int     `json:"n_gen"`
		AvgTS   float64 `json:"avg_ts"`
	}
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		return nil, fmt.Errorf("llama-bench output: %w", err)
	}
	res := map[string]float64{}
	for _, r := range rows {
		if r.NGen > 0 {
			res[fmt.Sprintf("tg%d", r.NGen)] = r.AvgTS
		} else {
			res[fmt.Sprintf("pp%d", r.NPrompt)] = r.AvgTS
		}
	}
	return res, nil
}

// bandwidth measures how fast threads goroutines can read a 1 GiB buffer
// (bytes.IndexByte scans with the widest vector loads the CPU has),
// best of five passes.
func bandwidth(threads int) float64 {
	const size = 1 << 30
	buf := make([]byte, size)
	for i := range buf {
		buf[i] = 1 // touch every page; IndexByte searches for 0, never found
	}
	threads = max(threads, 1)
	best := 0.0
	for range 5 {
		var wg sync.WaitGroup
		start := time.Now()
		part := size / threads
		for t := 0; t < threads; t++ {
			wg.Add(1)
			go func(b []byte) {
				defer wg.Done()
				if bytes.IndexByte(b, 0) >= 0 {
					panic("unreachable")
				}
			}(buf[t*part : (t+1)*part])
		}
		wg.Wait()
		if bw := float64(size) / time.Since(start).Seconds(); bw > best {
			best = bw
		}
	}
	runtime.KeepAlive(buf)
	return best
}
