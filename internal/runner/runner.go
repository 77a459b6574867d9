// Package runner is the gateway's embedded-engine backend: it answers
// OpenAI-shaped chat, completion and embedding requests with the in-process
// engine, from the GGUF models in the vault.
//
// A model is loaded on first use, only after its blobs have been re-hashed
// and found to match their digests; it stays loaded while requests use it,
// and is unloaded after an idle timeout, or earlier when loading another
// model would exceed the memory budget (least recently used first). Each
// loaded model has a fixed number of sessions (KV caches) sharing its
// weights; requests wait for a session in a queue that takes turns between
// API keys, so one key flooding a model cannot starve the others. A request
// whose context ends leaves the queue or stops generating at the next
// token.
//
// Chat requests are rendered with the model's own chat template (tools are
// passed to it; tool calls in the output are not parsed back). With
// response_format json_object, sampling is constrained token by token to
// a valid JSON object that is closed before max_tokens or the context runs
// out; json_schema is refused with a 400. Usage is exact: the prompt's
// tokens (cached_tokens: those reused from the session's cache) and every
// token generated, the end-of-turn token included.
//
// The runner never writes to the vault, never loads a model that failed
// verification, and does no network I/O: the gateway owns HTTP, keys,
// limits and audit.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/engine"
	"sov.dev/sov/internal/openai"
	"sov.dev/sov/internal/vault"
)

// Defaults of Options.
const (
	DefaultIdleTimeout = 5 * time.Minute
	DefaultMaxQueue    = 64
)

// Options configure a Runner.
type Options struct {
	// Vault holds the models. Required.
	Vault *vault.Vault
	// Name identifies the backend in logs, metrics and audit entries
	// (default "local").
	Name string
	// Threads is the number of worker threads of each session (0: the
	// number of physical cores).
	Threads int
	// ContextLen is each session's context in tokens (0: the model's
	// trained context, capped at 4096; larger than the model's: the
	// model's).
	ContextLen int
	// Sessions is the number of sessions (KV caches) per loaded model: how
	// many requests to one model run at once (0: 1).
	Sessions int
	// MemoryBudget bounds the bytes of weights and KV caches loaded at
	// once (0: half the machine's RAM; negative: no limit).
	MemoryBudget int64
	// IdleTimeout unloads a model nobody has used for this long (0:
	// DefaultIdleTimeout; negative: never).
	IdleTimeout time.Duration
	// MaxQueue bounds the requests waiting for one model's sessions; more
	// are refused with a 429 that wraps backend.ErrUnavailable (0:
	// DefaultMaxQueue; negative: no limit).
	MaxQueue int
	// Labels say where this backend runs.
	Labels backend.Labels
	// Allow, if set, is asked before every request whether the model
	// version may be served; ref is its digest ("sha256:…"). An error
	// refuses the request: an *openai.APIError is passed to the client as
	// it is, an error wrapping backend.ErrUnavailable (the answer could not
	// be had) likewise, any other error becomes a 403 with its text.
	Allow func(ctx context.Context, ref string) error
	// Logger receives load, unload and eviction events (nil: discard).
	Logger *slog.Logger
}

// Runner serves the vault's GGUF models with the embedded engine. It
// implements backend.Backend and is safe for concurrent use.
type Runner struct {
	opts   Options
	v      *vault.Vault
	log    *slog.Logger
	budget int64 // 0: no limit

	// mu guards everything below and every loaded model's mutable state
	// (users, free sessions, queue, idle timer). It is never held while
	// evaluating, hashing or loading.
	mu      sync.Mutex
	models  map[digest.Digest]*model
	loading map[digest.Digest]*loadCall
	used    int64 // bytes of the loaded models
	closed  bool
	now     func() time.Time
}

var _ backend.Backend = (*Runner)(nil)

// New returns a runner for opts.Vault. It loads nothing until a request
// asks for a model.
func New(opts Options) *Runner {
	if opts.Name == "" {
		opts.Name = "local"
	}
	if opts.Threads <= 0 {
		opts.Threads = engine.PhysicalCores()
	}
	if opts.Sessions <= 0 {
		opts.Sessions = 1
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = DefaultMaxQueue
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	budget := opts.MemoryBudget
	switch {
	case budget < 0:
		budget = 0
	case budget == 0:
		budget = physicalMemory() / 2
		if budget == 0 {
			log.Warn("the machine's memory size is unknown; loading models without a memory budget")
		}
	}
	return &Runner{
		opts:    opts,
		v:       opts.Vault,
		log:     log.With("backend", opts.Name),
		budget:  budget,
		models:  make(map[digest.Digest]*model),
		loading: make(map[digest.Digest]*loadCall),
		now:     time.Now,
	}
}

// Name implements backend.Backend.
func (r *Runner) Name() string { return r.opts.Name }

// Labels implements backend.Backend.
func (r *Runner) Labels() backend.Labels { return r.opts.Labels }

// Healthy implements backend.Backend: the runner is healthy until closed.
func (r *Runner) Healthy() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.closed
}

// Models implements backend.Backend. It lists every "name:tag" in the
// vault whose model is a GGUF file of an architecture the engine runs;
// those Allow (if set) refuses are marked Unavailable with its reason.
// Requests may also name a model without a tag, which means ":latest", as
// everywhere in sov; such bare names are not listed separately.
func (r *Runner) Models(ctx context.Context) ([]backend.Model, error) {
	entries, err := r.v.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []backend.Model
	for _, e := range entries {
		if e.Name == "<none>" || e.Format != "gguf" || !slices.Contains(engine.Architectures, e.Architecture) {
			continue
		}
		m := backend.Model{ID: e.Name + ":" + e.Tag, Created: e.Updated.Unix(), OwnedBy: "sov"}
		if r.opts.Allow != nil {
			if err := r.opts.Allow(ctx, e.Digest.String()); err != nil {
				m.Unavailable = err.Error()
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Close unloads every model not in use; models in use are unloaded when
// their last request ends. Later requests are refused as unavailable.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	var idle []*model
	for _, m := range r.models {
		if m.users == 0 {
			idle = append(idle, m)
			r.detach(m)
		}
	}
	r.mu.Unlock()
	for _, m := range idle {
		m.close()
	}
	return nil
}

// Do implements backend.Backend.
func (r *Runner) Do(ctx context.Context, req *backend.Request, out backend.Output) error {
	if req == nil {
		return openai.InvalidRequest("", "empty request")
	}
	switch {
	case req.Endpoint == backend.Chat && req.Chat != nil:
	case req.Endpoint == backend.Completion && req.Completion != nil:
	case req.Endpoint == backend.Embedding && req.Embedding != nil:
	default:
		return openai.InvalidRequest("", "the %q endpoint is not served by the embedded engine, or the request body is missing", req.Endpoint)
	}
	m, err := r.acquireModel(ctx, req.Model)
	if err != nil {
		return err
	}
	defer r.releaseModel(m)
	switch req.Endpoint {
	case backend.Chat:
		return r.chat(ctx, m, req, out)
	case backend.Completion:
		return r.completion(ctx, m, req, out)
	default:
		return r.embeddings(ctx, m, req, out)
	}
}

// acquireModel resolves a client's model name in the vault, asks Allow,
// and returns the loaded model with a reference held.
func (r *Runner) acquireModel(ctx context.Context, name string) (*model, error) {
	if strings.HasPrefix(name, digest.Algorithm+":") {
		return nil, fmt.Errorf("%w: %q: name models as NAME[:TAG]", backend.ErrUnknownModel, name)
	}
	ref, err := vault.ParseName(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", backend.ErrUnknownModel, name, err)
	}
	_, d, err := r.v.Manifest(ctx, ref.String())
	if errors.Is(err, vault.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s is not in the vault", backend.ErrUnknownModel, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading the vault: %w", backend.ErrUnavailable, err)
	}
	if r.opts.Allow != nil {
		if err := r.opts.Allow(ctx, d.String()); err != nil {
			var apiErr *openai.APIError
			if errors.As(err, &apiErr) || errors.Is(err, backend.ErrUnavailable) {
				return nil, err // a refusal as it is, or the gate could not answer
			}
			return nil, openai.PermissionDenied("model_not_allowed", fmt.Sprintf("%s may not be served: %v", ref, err))
		}
	}
	return r.load(ctx, ref.String(), d)
}

// Status is a snapshot of the runner, for metrics.
type Status struct {
	Models       []ModelStatus
	MemoryUsed   int64 // bytes of the loaded models
	MemoryBudget int64 // 0: no limit
	Loading      int   // models being verified and loaded
}

// ModelStatus describes one loaded model.
type ModelStatus struct {
	Name     string // the name:tag it was loaded under
	Digest   digest.Digest
	Bytes    int64 // weights plus KV caches
	Sessions int
	Busy     int // sessions generating
	Queued   int // requests waiting for a session
	Users    int // requests holding the model (queued, busy or preparing)
	LastUsed time.Time
}

// Status returns the loaded models, sorted by name.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Status{MemoryUsed: r.used, MemoryBudget: r.budget, Loading: len(r.loading)}
	for _, m := range r.models {
		st.Models = append(st.Models, ModelStatus{
			Name: m.name, Digest: m.digest, Bytes: m.bytes,
			Sessions: len(m.sessions), Busy: len(m.sessions) - len(m.free), Queued: m.queue.len(),
			Users: m.users, LastUsed: m.lastUsed,
		})
	}
	slices.SortFunc(st.Models, func(a, b ModelStatus) int { return strings.Compare(a.Name, b.Name) })
	return st
}

// QueueDepth returns the number of requests waiting for a session, over
// all models.
func (r *Runner) QueueDepth() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.models {
		n += m.queue.len()
	}
	return n
}
