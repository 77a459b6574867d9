package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/engine"
	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/progress"
	"sov.dev/sov/internal/quant"
)

func (a *app) benchCommand() *cobra.Command {
	var opts engine.BenchOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench NAME[:TAG]|FILE.gguf",
		Short: "Measure prompt-processing and generation speed, like llama-bench",
		Long: `bench loads a model (from the vault, or a GGUF file) and measures prompt
processing (ppN: N tokens evaluated as one prompt) and text generation (tgN:
N tokens evaluated one at a time), each after a warm-up, repeated, printing
tokens per second as mean ± standard deviation.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			path, name := args[0], args[0]
			if fi, err := os.Stat(path); err != nil || fi.IsDir() {
				v, err := a.openVault(ctx)
				if err != nil {
					return err
				}
				p, info, err := v.WeightsFile(ctx, args[0])
				if err != nil {
					return err
				}
				path, name = p, info.Name+":"+info.Tag
			} else {
				name = filepath.Base(path)
			}
			m, err := engine.Load(path)
			if err != nil {
				return err
			}
			defer m.Close()
			res, err := m.Benchmark(ctx, opts)
			if err != nil {
				return err
			}
			if asJSON {
				if res == nil {
					res = []engine.BenchResult{}
				}
				return writeJSON(a.env.Stdout, res)
			}
			tw := newTable(a.env.Stdout, "MODEL", "SIZE", "PARAMS", "KERNEL", "THREADS", "TEST", "TOKENS/S")
			for _, r := range res {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%.2f ± %.2f\n", name, progress.Bytes(r.ModelBytes),
					params(m.File.Facts().ParameterCount), kernelNames(m), r.Threads, r.Test, r.TokensPerSecond, r.Stddev)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(res) > 0 {
				r := res[len(res)-1]
				fmt.Fprintf(a.env.Stdout, "memory: peak RSS %s (weights %s, KV cache %s)\n",
					progress.Bytes(r.RSSBytes), progress.Bytes(r.ModelBytes), progress.Bytes(r.KVCacheBytes))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&opts.Prompt, "prompt", "p", 512, "prompt tokens to process (0: skip)")
	f.IntVarP(&opts.Gen, "gen", "n", 128, "tokens to generate (0: skip)")
	f.IntVarP(&opts.Threads, "threads", "t", engine.PhysicalCores(), "worker threads")
	f.IntVarP(&opts.Repetitions, "repetitions", "r", 5, "repetitions of each test")
	f.BoolVar(&asJSON, "json", false, "print results as JSON")
	return cmd
}

// kernelNames says which dot-product kernels the model's main weight type uses.
func kernelNames(m *engine.Model) string {
	t := m.MainType()
	if t == gguf.TypeQ8_0 && quant.PackQ8_0Faster() {
		return t.String() + "/packed16-avx512vnni" // repacked at load, see docs/design/engine.md
	}
	return t.String() + "/" + quant.KernelName(t)
}
