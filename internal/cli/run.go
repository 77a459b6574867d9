package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/chat"
	"sov.dev/sov/internal/engine"
	"sov.dev/sov/internal/sample"
	"sov.dev/sov/internal/tokenizer"
)

// runFlags are sov run's options.
type runFlags struct {
	raw, verbose bool
	system       string
	temperature  float32
	topK         int
	topP, minP   float32
	repeat       float32
	freq, pres   float32
	seed         int64
	maxTokens    int
	threads      int
	ctxSize      int
	stop         []string
}

func (a *app) runCommand() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run NAME[:TAG] [PROMPT]",
		Short: "Run a model from the vault on this machine's CPU",
		Long: `run loads a GGUF model from the vault (memory-mapped) and generates text on the
CPU. With a PROMPT it answers once, streaming tokens as they are made; without
one it starts an interactive chat (type /bye or Ctrl-D to leave). The model's
own chat template formats the conversation; --raw sends the prompt as plain
text completion instead. --temperature 0 is greedy decoding.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return &usageError{fmt.Errorf("run takes NAME[:TAG] and an optional PROMPT (see --help)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.run(cmd.Context(), args, f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.raw, "raw", false, "plain text completion: no chat template")
	fl.StringVar(&f.system, "system", "", "system prompt")
	fl.Float32Var(&f.temperature, "temperature", 0.8, "sampling temperature (0: greedy)")
	fl.IntVar(&f.topK, "top-k", 40, "keep only the K most likely tokens (0: all)")
	fl.Float32Var(&f.topP, "top-p", 0.95, "nucleus sampling probability (1: off)")
	fl.Float32Var(&f.minP, "min-p", 0.05, "drop tokens less likely than this fraction of the best (0: off)")
	fl.Float32Var(&f.repeat, "repeat-penalty", 1.0, "penalise recently seen tokens (1: off)")
	fl.Float32Var(&f.freq, "frequency-penalty", 0, "penalise tokens by how often they appeared")
	fl.Float32Var(&f.pres, "presence-penalty", 0, "penalise tokens that appeared at all")
	fl.Int64Var(&f.seed, "seed", -1, "random seed for reproducible sampling (-1: a new one each run)")
	fl.IntVar(&f.maxTokens, "max-tokens", 0, "stop after this many tokens (0: when the model ends its answer)")
	fl.IntVar(&f.threads, "threads", engine.PhysicalCores(), "worker threads (default: physical cores)")
	fl.IntVar(&f.ctxSize, "ctx-size", 0, "context length in tokens (0: the model's, up to 4096)")
	fl.StringArrayVar(&f.stop, "stop", nil, "stop when this text appears (repeatable)")
	fl.BoolVar(&f.verbose, "verbose", false, "print token counts and speed at the end")
	return cmd
}

// chatRunner holds a loaded model for one sov run.
type chatRunner struct {
	a     *app
	f     runFlags
	model *engine.Model
	sess  *engine.Session
	tok   *tokenizer.Tokenizer
	tmpl  *chat.Template
}

func (a *app) run(ctx context.Context, args []string, f runFlags) error {
	v, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	path, info, err := v.WeightsFile(ctx, args[0])
	if err != nil {
		return err
	}
	m, err := engine.Load(path)
	if err != nil {
		return fmt.Errorf("loading %s:%s: %w", info.Name, info.Tag, err)
	}
	defer m.Close()
	tok, err := tokenizer.FromGGUF(m.File)
	if err != nil {
		return fmt.Errorf("%s:%s: %w", info.Name, info.Tag, err)
	}
	sess, err := m.NewSession(engine.SessionOptions{ContextLen: f.ctxSize, Threads: f.threads})
	if err != nil {
		return err
	}
	defer sess.Close()
	r := &chatRunner{a: a, f: f, model: m, sess: sess, tok: tok}
	if !f.raw {
		src, ok := m.File.String("tokenizer.chat_template")
		if !ok {
			if len(args) == 1 {
				return errors.New("the model has no chat template: give a PROMPT with --raw for plain completion")
			}
			return errors.New("the model has no chat template: use --raw for plain text completion")
		}
		if r.tmpl, err = chat.NewTemplate(src); err != nil {
			return fmt.Errorf("the model's chat template: %w", err)
		}
	}
	if len(args) == 2 {
		var msgs []chat.Message
		if f.system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: f.system})
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: args[1]})
		_, err := r.turn(ctx, msgs, args[1])
		return err
	}
	if f.raw {
		return errors.New("--raw needs a PROMPT")
	}
	return r.chat(ctx)
}

// turn generates one answer, streaming it to stdout, and returns its text.
func (r *chatRunner) turn(ctx context.Context, msgs []chat.Message, rawPrompt string) (string, error) {
	var prompt []int32
	var err error
	if r.tmpl == nil {
		prompt, err = r.tok.Encode(rawPrompt, tokenizer.EncodeOptions{AddSpecial: true})
	} else {
		var text string
		text, err = r.tmpl.Render(ctx, msgs, chat.Options{
			AddGenerationPrompt: true,
			BOS:                 r.tok.Piece(r.tok.BOS()),
			EOS:                 r.tok.Piece(r.tok.EOS()),
		})
		if err != nil {
			return "", fmt.Errorf("rendering the chat template: %w", err)
		}
		// The template usually writes the BOS text itself; add it only if not.
		bos := r.tok.Piece(r.tok.BOS())
		prompt, err = r.tok.Encode(text, tokenizer.EncodeOptions{ParseSpecial: true, AddSpecial: bos == "" || !strings.HasPrefix(text, bos)})
	}
	if err != nil {
		return "", err
	}
	seed := uint64(r.f.seed)
	if r.f.seed < 0 {
		seed = uint64(time.Now().UnixNano())
	}
	var answer strings.Builder
	out := r.a.env.Stdout
	st, err := engine.Generate(ctx, r.sess, r.tok, prompt, engine.GenerateOptions{
		MaxTokens: r.f.maxTokens,
		Stop:      r.f.stop,
		Sampling: sample.Options{
			Temperature: r.f.temperature, TopK: r.f.topK, TopP: r.f.topP, MinP: r.f.minP,
			RepeatPenalty: r.f.repeat, FrequencyPenalty: r.f.freq, PresencePenalty: r.f.pres, Seed: seed,
		},
	}, func(piece string) error {
		answer.WriteString(piece)
		_, err := io.WriteString(out, piece)
		return err
	})
	fmt.Fprintln(out)
	if r.f.verbose {
		r.printStats(st)
	}
	return answer.String(), err
}

func (r *chatRunner) printStats(st engine.Stats) {
	rate := func(n int, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	evaluated := st.PromptTokens - st.CachedTokens
	fmt.Fprintf(r.a.env.Stderr, "prompt: %d tokens (%d cached), %.2f s, %.1f tok/s\n",
		st.PromptTokens, st.CachedTokens, st.PromptTime.Seconds(), rate(evaluated, st.PromptTime))
	fmt.Fprintf(r.a.env.Stderr, "generation: %d tokens, %.2f s, %.1f tok/s (stop: %s)\n",
		st.GeneratedTokens, st.GenerateTime.Seconds(), rate(st.GeneratedTokens, st.GenerateTime), orDash(st.StopReason))
}

// chat runs an interactive conversation on the terminal.
func (r *chatRunner) chat(ctx context.Context) error {
	var msgs []chat.Message
	if r.f.system != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: r.f.system})
	}
	in := bufio.NewScanner(r.a.env.Stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	fmt.Fprintln(r.a.env.Stderr, "Type a message; /bye or Ctrl-D to leave.")
	for {
		fmt.Fprint(r.a.env.Stdout, ">>> ")
		if !in.Scan() {
			fmt.Fprintln(r.a.env.Stdout)
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		switch line {
		case "":
			continue
		case "/bye", "/exit", "/quit":
			return nil
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: line})
		answer, err := r.turn(ctx, msgs, line)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		msgs = append(msgs, chat.Message{Role: "assistant", Content: answer})
	}
}
