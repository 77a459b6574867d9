package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/chat"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/engine"
	"sov.dev/sov/internal/openai"
	"sov.dev/sov/internal/tokenizer"
	"sov.dev/sov/internal/vault"
)

// model is a loaded model version. Its mutable fields are guarded by the
// runner's mu.
type model struct {
	name   string // name:tag it was first loaded under
	digest digest.Digest
	eng    *engine.Model
	tok    *tokenizer.Tokenizer
	tmpl   *chat.Template // nil: the model has no chat template
	ctxLen int            // tokens per session
	bytes  int64          // weights plus KV caches, for the budget

	sessions []*engine.Session
	free     []*engine.Session
	queue    fairQueue
	users    int // requests holding the model
	lastUsed time.Time
	idle     *time.Timer
	idleGen  uint64 // invalidates idle timers that fired late
	gone     bool   // detached from the runner
}

// loadCall is one load in progress, shared by every request that asked
// for the model meanwhile (singleflight).
type loadCall struct {
	done    chan struct{}
	waiters int // requests waiting; each gets a reference to m
	m       *model
	err     error
}

// load returns the model with digest d, loading it if needed, with a
// reference held for the caller (give it back with releaseModel).
func (r *Runner) load(ctx context.Context, name string, d digest.Digest) (*model, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: the embedded engine is shutting down", backend.ErrUnavailable)
	}
	if m := r.models[d]; m != nil {
		r.hold(m)
		r.mu.Unlock()
		return m, nil
	}
	call := r.loading[d]
	if call == nil {
		call = &loadCall{done: make(chan struct{})}
		r.loading[d] = call
		// The load goes on if this client leaves: others may be waiting,
		// and the next request finds the model ready.
		go r.loadModel(context.WithoutCancel(ctx), call, name, d)
	}
	call.waiters++
	r.mu.Unlock()

	select {
	case <-call.done:
		return call.m, call.err
	case <-ctx.Done():
		r.mu.Lock()
		select {
		case <-call.done:
			// Finished meanwhile: a reference was taken for us.
			r.mu.Unlock()
			if call.m != nil {
				r.releaseModel(call.m)
			}
		default:
			call.waiters--
			r.mu.Unlock()
		}
		return nil, ctx.Err()
	}
}

// hold takes a reference; r.mu is held.
func (r *Runner) hold(m *model) {
	m.users++
	m.idleGen++
	if m.idle != nil {
		m.idle.Stop()
		m.idle = nil
	}
}

// releaseModel gives back a reference; the last one starts the idle timer.
func (r *Runner) releaseModel(m *model) {
	r.mu.Lock()
	m.users--
	m.lastUsed = r.now()
	if m.users > 0 || m.gone {
		r.mu.Unlock()
		return
	}
	if r.closed {
		r.detach(m)
		r.mu.Unlock()
		m.close()
		return
	}
	if t := r.opts.IdleTimeout; t > 0 {
		gen := m.idleGen
		m.idle = time.AfterFunc(t, func() { r.expire(m, gen) })
	}
	r.mu.Unlock()
}

// expire unloads m if it has stayed unused since its idle timer started.
func (r *Runner) expire(m *model, gen uint64) {
	r.mu.Lock()
	if m.gone || m.users > 0 || m.idleGen != gen {
		r.mu.Unlock()
		return
	}
	r.detach(m)
	r.mu.Unlock()
	r.log.Info("unloaded idle model", "model", m.name, "digest", m.digest.Short(), "idle", r.opts.IdleTimeout)
	m.close()
}

// detach removes an unused model from the runner; r.mu is held. The
// caller closes it after unlocking.
func (r *Runner) detach(m *model) {
	m.gone = true
	m.idleGen++
	if m.idle != nil {
		m.idle.Stop()
		m.idle = nil
	}
	if r.models[m.digest] == m {
		delete(r.models, m.digest)
		r.used -= m.bytes
	}
}

// close frees the sessions and unmaps the weights.
func (m *model) close() {
	for _, s := range m.sessions {
		s.Close()
	}
	m.eng.Close()
}

// loadModel verifies, maps and admits a model, then wakes the waiters.
func (r *Runner) loadModel(ctx context.Context, call *loadCall, name string, d digest.Digest) {
	start := time.Now()
	m, err := r.prepare(ctx, name, d)
	r.mu.Lock()
	delete(r.loading, d)
	if err == nil && r.closed {
		err = fmt.Errorf("%w: the embedded engine is shutting down", backend.ErrUnavailable)
		r.used -= m.bytes
		m.gone = true
	}
	if err != nil {
		call.err = err
		r.mu.Unlock()
		if m != nil {
			m.close()
		}
		r.log.Warn("loading a model failed", "model", name, "digest", d.Short(), "err", err)
		close(call.done)
		return
	}
	r.models[d] = m
	m.users = call.waiters
	m.lastUsed = r.now()
	call.m = m
	waiters := call.waiters
	r.mu.Unlock()
	close(call.done)
	if waiters == 0 {
		// Everybody left during the load: start the idle timer.
		r.mu.Lock()
		m.users++
		r.mu.Unlock()
		r.releaseModel(m)
	}
	r.log.Info("loaded model", "model", name, "digest", d.Short(), "bytes", m.bytes,
		"sessions", len(m.sessions), "context", m.ctxLen, "took", time.Since(start).Round(time.Millisecond))
}

// prepare verifies the model's blobs, maps its weights, reads its
// tokenizer and chat template, reserves its memory (evicting idle models
// if needed) and allocates its sessions. On success the bytes are counted
// in r.used.
func (r *Runner) prepare(ctx context.Context, name string, d digest.Digest) (*model, error) {
	ref := d.String()
	rep, err := r.v.Verify(ctx, []string{ref}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: verifying %s: %w", backend.ErrUnavailable, name, err)
	}
	if !rep.OK {
		var bad []string
		for _, mc := range rep.Models {
			for _, f := range mc.Files {
				if f.Status != vault.StatusOK {
					bad = append(bad, f.Path+" is "+f.Status)
				}
			}
		}
		msg := fmt.Sprintf("model %s failed verification and will not be loaded: %s; run `sov model verify %s`", name, strings.Join(bad, ", "), name)
		return nil, errors.Join(backend.ErrUnavailable, openai.Unavailable(msg))
	}
	path, _, err := r.v.WeightsFile(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", backend.ErrUnknownModel, name, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", backend.ErrUnavailable, name, err)
	}
	eng, err := engine.Load(path)
	if err != nil {
		if errors.Is(err, engine.ErrUnsupported) {
			return nil, fmt.Errorf("%w: %s: %w", backend.ErrUnknownModel, name, err)
		}
		return nil, fmt.Errorf("%w: loading %s: %w", backend.ErrUnavailable, name, err)
	}
	m := &model{name: name, digest: d, eng: eng}
	fail := func(err error) (*model, error) {
		eng.Close()
		return nil, err
	}
	if m.tok, err = tokenizer.FromGGUF(eng.File); err != nil {
		return fail(fmt.Errorf("%w: %s: %w", backend.ErrUnknownModel, name, err))
	}
	if src, ok := eng.File.String("tokenizer.chat_template"); ok {
		if m.tmpl, err = chat.NewTemplate(src); err != nil {
			// Completions and embeddings still work; chat says why not.
			r.log.Warn("the model's chat template does not parse", "model", name, "err", err)
		}
	}
	m.ctxLen = r.opts.ContextLen
	if m.ctxLen <= 0 {
		m.ctxLen = min(eng.ContextLen, 4096)
	}
	m.ctxLen = min(m.ctxLen, eng.ContextLen)
	m.bytes = fi.Size() + int64(r.opts.Sessions)*sessionBytes(eng.Config, m.ctxLen, r.opts.Threads)

	if err := r.reserve(m); err != nil {
		return fail(err)
	}
	for range r.opts.Sessions {
		s, err := eng.NewSession(engine.SessionOptions{ContextLen: m.ctxLen, Threads: r.opts.Threads})
		if err != nil {
			r.mu.Lock()
			r.used -= m.bytes
			r.mu.Unlock()
			m.close()
			return nil, fmt.Errorf("%w: %s: %w", backend.ErrUnavailable, name, err)
		}
		m.sessions = append(m.sessions, s)
	}
	m.free = append(m.free, m.sessions...)
	return m, nil
}

// sessionBytes estimates the memory of one session: its KV cache and
// buffers.
func sessionBytes(c engine.Config, ctxLen, threads int) int64 {
	kv := int64(2) * int64(c.Layers) * int64(ctxLen) * int64(c.HeadsKV*c.HeadDim) * 4
	batch := int64(engine.MaxBatch) * int64(4*c.Embd+2*c.Heads*c.HeadDim+2*c.HeadsKV*c.HeadDim+2*c.FF) * 4
	scores := int64(threads) * int64(ctxLen) * 4
	return kv + batch + scores + int64(c.Vocab)*4
}

// reserve counts m's bytes as used, first unloading idle models, least
// recently used first, while the budget would be exceeded. It fails,
// unloading nothing, when even that would not make room.
func (r *Runner) reserve(m *model) error {
	r.mu.Lock()
	if r.budget == 0 {
		r.used += m.bytes
		r.mu.Unlock()
		return nil
	}
	if m.bytes > r.budget {
		r.mu.Unlock()
		return errors.Join(backend.ErrUnavailable, openai.Unavailable(fmt.Sprintf(
			"model %s needs %s of memory, more than the embedded engine's budget of %s", m.name, mib(m.bytes), mib(r.budget))))
	}
	var idle []*model
	free := r.budget - r.used
	for _, o := range r.models {
		if o.users == 0 {
			idle = append(idle, o)
			free += o.bytes
		}
	}
	if free < m.bytes {
		busy := r.used
		for _, o := range idle {
			busy -= o.bytes
		}
		r.mu.Unlock()
		return errors.Join(backend.ErrUnavailable, openai.Unavailable(fmt.Sprintf(
			"model %s needs %s of memory; models in use hold %s of the embedded engine's budget of %s; retry when they are idle",
			m.name, mib(m.bytes), mib(busy), mib(r.budget))))
	}
	// Oldest first.
	for i := 1; i < len(idle); i++ {
		for j := i; j > 0 && idle[j].lastUsed.Before(idle[j-1].lastUsed); j-- {
			idle[j], idle[j-1] = idle[j-1], idle[j]
		}
	}
	var evicted []*model
	for _, o := range idle {
		if r.budget-r.used >= m.bytes {
			break
		}
		r.detach(o)
		evicted = append(evicted, o)
	}
	r.used += m.bytes
	r.mu.Unlock()
	for _, o := range evicted {
		r.log.Info("unloaded model to make room", "model", o.name, "digest", o.digest.Short(), "for", m.name)
		o.close()
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
