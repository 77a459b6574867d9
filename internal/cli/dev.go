package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/progress"
	"sov.dev/sov/internal/synth"
)

func (a *app) devCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Tools for developing and benchmarking sov",
	}
	cmd.AddCommand(a.synthModelCommand())
	return cmd
}

func (a *app) synthModelCommand() *cobra.Command {
	var arch, preset, typ, out string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "synth-model --arch ARCH --preset PRESET --type TYPE -o FILE.gguf",
		Short: "Write a synthetic GGUF model with deterministic random weights",
		Long: `synth-model writes a valid GGUF model with the real shapes and
hyper-parameters of a known model (or a tiny one), deterministic random
weights and a working tokenizer vocabulary and chat template. Its output is
meaningless text, but it loads in any GGUF runtime: it is for tests and
benchmarks. Presets: ` + presetNames() + `.
Types: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K_M, Q5_K_M, Q6_K.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return &usageError{fmt.Errorf("give the output file with -o")}
			}
			p, err := synth.FindPreset(arch, preset)
			if err != nil {
				return &usageError{err}
			}
			dir := filepath.Dir(out)
			tmp, err := os.CreateTemp(dir, "."+filepath.Base(out)+".tmp-*")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			w := bufio.NewWriterSize(tmp, 1<<20)
			if err := synth.WriteModel(w, synth.ModelSpec{Preset: p, FileType: strings.ToUpper(typ), Seed: seed}); err != nil {
				tmp.Close()
				return err
			}
			if err := w.Flush(); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Sync(); err != nil {
				tmp.Close()
				return err
			}
			fi, err := tmp.Stat()
			if err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			fmt.Fprintf(a.env.Stdout, "wrote %s: %s %s %s (%s)\n", out, p.Arch, p.Name, strings.ToUpper(typ), progress.Bytes(fi.Size()))
			return nil
		},
	}
	cmd.Flags().StringVar(&arch, "arch", "", "architecture: llama, qwen2 or qwen3 (default: the preset's)")
	cmd.Flags().StringVar(&preset, "preset", "tiny", "model shape")
	cmd.Flags().StringVar(&typ, "type", "Q8_0", "tensor type or llama.cpp file type mix")
	cmd.Flags().StringVarP(&out, "output", "o", "", "GGUF file to write")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the random weights")
	return cmd
}

func presetNames() string {
	var names []string
	seen := map[string]bool{}
	for _, p := range synth.Presets() {
		if !seen[p.Name] {
			seen[p.Name] = true
			names = append(names, p.Name)
		}
	}
	return strings.Join(names, ", ")
}
