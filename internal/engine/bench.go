package engine

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// BenchOptions configure Benchmark, like llama-bench's: a prompt-processing
// test of Prompt tokens and a generation test of Gen tokens, each repeated.
type BenchOptions struct {
	Prompt      int // 0: skip
	Gen         int // 0: skip
	Threads     int
	Repetitions int
}

// BenchResult is one test's outcome. Its JSON fields are stable.
type BenchResult struct {
	Test            string    `json:"test"` // "pp512", "tg128"
	Tokens          int       `json:"tokens"`
	Threads         int       `json:"threads"`
	TokensPerSecond float64   `json:"tokens_per_second"` // mean over repetitions
	Stddev          float64   `json:"stddev"`
	Samples         []float64 `json:"samples"` // tokens per second of each repetition
	ModelBytes      int64     `json:"model_bytes"`
	KVCacheBytes    int64     `json:"kv_cache_bytes"`
	RSSBytes        int64     `json:"rss_bytes"` // peak resident memory of the process, when known
}

// Benchmark measures prompt processing (one batch-evaluated prompt of
// opts.Prompt tokens into an empty cache) and generation (opts.Gen tokens
// evaluated one at a time from an empty cache), after one warm-up run of
// each. Tokens are fixed pseudo-random ids, as llama-bench uses; sampling
// is not included.
func (m *Model) Benchmark(ctx context.Context, opts BenchOptions) ([]BenchResult, error) {
	reps := max(opts.Repetitions, 1)
	ctxLen := max(opts.Prompt, opts.Gen, 1)
	if ctxLen > m.ContextLen {
		return nil, fmt.Errorf("%w: the benchmark needs %d tokens of context, the model has %d", ErrContextFull, ctxLen, m.ContextLen)
	}
	s, err := m.NewSession(SessionOptions{ContextLen: ctxLen, Threads: opts.Threads})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	tokens := make([]int32, ctxLen)
	seed := uint32(12345)
	for i := range tokens {
		seed = seed*1664525 + 1013904223
		tokens[i] = int32(seed>>8) % int32(m.Vocab)
	}
	var results []BenchResult
	run := func(name string, n int, f func() error) error {
		if n == 0 {
			return nil
		}
		if err := f(); err != nil { // warm-up: page in the weights
			return err
		}
		r := BenchResult{Test: name, Tokens: n, Threads: max(opts.Threads, 1), ModelBytes: m.WeightBytes(), KVCacheBytes: s.KVCacheBytes()}
		for range reps {
			if err := ctx.Err(); err != nil {
				return err
			}
			start := time.Now()
			if err := f(); err != nil {
				return err
			}
			r.Samples = append(r.Samples, float64(n)/time.Since(start).Seconds())
		}
		r.TokensPerSecond, r.Stddev = meanStddev(r.Samples)
		r.RSSBytes = peakRSS()
		results = append(results, r)
		return nil
	}
	err = run(fmt.Sprintf("pp%d", opts.Prompt), opts.Prompt, func() error {
		s.Reset()
		_, err := s.Prefill(ctx, tokens[:opts.Prompt])
		return err
	})
	if err != nil {
		return nil, err
	}
	err = run(fmt.Sprintf("tg%d", opts.Gen), opts.Gen, func() error {
		s.Reset()
		for _, t := range tokens[:opts.Gen] {
			if _, err := s.Eval(t); err != nil {
				return err
			}
		}
		return nil
	})
	return results, err
}

// WeightBytes is the size of the model file's tensor data.
func (m *Model) WeightBytes() int64 { return m.File.Size - m.File.DataOffset }

// KVCacheBytes is the memory the session's KV cache takes.
func (s *Session) KVCacheBytes() int64 {
	var n int64
	for l := range s.kCache {
		n += int64(len(s.kCache[l])+len(s.vCache[l])) * 4
	}
	return n
}

func meanStddev(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

// peakRSS reads the process's peak resident set size (Linux), or 0.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) == 2 && f[1] == "kB" {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n * 1024
			}
		}
	}
	return 0
}
