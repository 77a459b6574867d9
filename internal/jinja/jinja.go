// Package jinja is a sandboxed Jinja2 template engine, written to render
// the chat templates that model files carry (GGUF tokenizer.chat_template,
// Hugging Face tokenizer_config.json) the way Hugging Face transformers
// renders them with jinja2's ImmutableSandboxedEnvironment.
//
// It implements the jinja2 syntax those templates use: print statements,
// comments, whitespace control (including trim_blocks and lstrip_blocks),
// if/for/set/macro/call/filter/with/raw blocks, break and continue,
// namespaces, loop variables, slicing, the usual operators, jinja2's
// built-in filters and tests, and the Python str/list/dict methods that
// templates call. Values follow Python semantics: integer and float
// arithmetic, Python's str() and repr() forms, truthiness and comparison.
// The tojson filter behaves like transformers' override (json.dumps with
// ensure_ascii=False and insertion-ordered keys).
//
// Templates are untrusted input. The engine must not give a template any
// way to reach the host: values form a closed set of types defined here,
// nothing is reflected, attributes starting with an underscore do not
// exist, and there is no file, import or include machinery. Every render
// is bounded: by a step budget, by the context's deadline, by a limit on
// the size of the output and of every value built on the way, and by fixed
// limits on recursion depth. Parsing never panics on any input.
package jinja

import (
	"context"
	"errors"
	"strings"
)

// Default limits, used when Options leaves them zero.
const (
	DefaultMaxOutput = 16 << 20
	DefaultMaxSteps  = 10_000_000
	// MaxCallDepth bounds macro recursion.
	MaxCallDepth = 100
)

// Options configures parsing and rendering.
type Options struct {
	// TrimBlocks removes the first newline after a block or comment tag.
	TrimBlocks bool
	// LStripBlocks strips spaces and tabs from the start of a line up to a
	// block or comment tag.
	LStripBlocks bool
	// KeepTrailingNewline keeps a final newline of the template source,
	// which jinja2 drops by default.
	KeepTrailingNewline bool
	// MaxOutput bounds the rendered output and every string or list built
	// while rendering, in bytes (a list counts 16 bytes an item). Zero
	// means DefaultMaxOutput.
	MaxOutput int
	// MaxSteps bounds the work of one render: every evaluated node, loop
	// iteration and function call costs a step, and building a string or
	// list costs one more step per 64 bytes. Zero means DefaultMaxSteps.
	MaxSteps int
	// Funcs are extra globals callable from the template, such as
	// raise_exception and strftime_now.
	Funcs map[string]Func
}

// Template is a parsed template, safe for concurrent use by several
// renders.
type Template struct {
	src   string // normalised source, for error positions
	body  []node
	opts  Options
	funcs map[string]Func
}

// Parse parses a template. A syntax error is a *SyntaxError with the line
// and column of the offending token.
func Parse(src string, opts Options) (*Template, error) {
	src = normalizeSource(src, opts.KeepTrailingNewline)
	toks, err := lex(src, opts.TrimBlocks, opts.LStripBlocks)
	if err != nil {
		return nil, err
	}
	body, err := parseTemplate(src, toks)
	if err != nil {
		return nil, err
	}
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = DefaultMaxOutput
	}
	if opts.MaxSteps <= 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	funcs := make(map[string]Func, len(opts.Funcs))
	for k, f := range opts.Funcs {
		funcs[k] = f
	}
	return &Template{src: src, body: body, opts: opts, funcs: funcs}, nil
}

// Render renders the template with vars as its context. Errors are
// *RenderError values wrapping the cause (see RenderError).
func (t *Template) Render(ctx context.Context, vars map[string]Value) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	globals := &scope{more: make(map[string]Value, len(vars)+len(t.funcs)+8)}
	for name, fn := range builtinGlobals {
		globals.more[name] = fn
	}
	for name, f := range t.funcs {
		globals.more[name] = f
	}
	for name, v := range vars {
		if v == nil {
			v = None{}
		}
		globals.more[name] = v
	}
	ev := &evaluator{
		ctx:      ctx,
		src:      t.src,
		maxSteps: int64(t.opts.MaxSteps),
		maxSize:  t.opts.MaxOutput,
	}
	var out strings.Builder
	ev.out = &out
	if _, err := ev.execBody(t.body, newScope(globals)); err != nil {
		var re *RenderError
		if !errors.As(err, &re) {
			err = &RenderError{Line: 1, Col: 1, Err: err}
		}
		return "", err
	}
	return out.String(), nil
}
