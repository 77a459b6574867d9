package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"sov.dev/sov/internal/backend"
)

// router maps a model name to the backends that serve it. Model lists are
// cached and refreshed in the background (and at once, at most once a
// second, when a request names a model no list has), so routing a known
// model does no I/O.
type router struct {
	backends []backend.Backend
	log      *slog.Logger

	reloadMu sync.Mutex // serialises reloads asked for by requests

	mu      sync.RWMutex
	models  map[string][]int // model id → indexes into backends
	list    []routedModel    // every model, for /v1/models
	lastRun time.Time
}

type routedModel struct {
	backend.Model
	backends []int
	servable []bool // per backend: not marked Unavailable
}

func newRouter(bs []backend.Backend, log *slog.Logger) *router {
	return &router{backends: bs, log: log, models: map[string][]int{}}
}

// run refreshes the model lists every interval, the first time an
// interval after Start's load.
func (r *router) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select { // Start has just loaded once
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.reloadMu.Lock() // an older, slower load must not overwrite a newer one
		r.load(ctx)
		r.reloadMu.Unlock()
	}
}

// load asks every backend for its models.
func (r *router) load(ctx context.Context) {
	models := map[string][]int{}
	byID := map[string]*routedModel{}
	for i, b := range r.backends {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		ms, err := b.Models(cctx)
		cancel()
		if err != nil {
			r.log.Warn("listing models", "backend", b.Name(), "err", err)
			continue
		}
		for _, m := range ms {
			if slices.Contains(models[m.ID], i) {
				continue
			}
			models[m.ID] = append(models[m.ID], i)
			if rm := byID[m.ID]; rm != nil {
				rm.backends = append(rm.backends, i)
				rm.servable = append(rm.servable, m.Unavailable == "")
			} else {
				byID[m.ID] = &routedModel{Model: m, backends: []int{i}, servable: []bool{m.Unavailable == ""}}
			}
		}
	}
	list := make([]routedModel, 0, len(byID))
	for _, m := range byID {
		list = append(list, *m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	r.mu.Lock()
	r.models, r.list, r.lastRun = models, list, time.Now()
	r.mu.Unlock()
}

// reloadIfStale reloads the model lists now unless that was done in the
// last second: a model was asked for that no backend listed, and it may
// have just been imported. Concurrent callers share one reload.
func (r *router) reloadIfStale(ctx context.Context) {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	r.mu.RLock()
	recent := time.Since(r.lastRun) < time.Second
	r.mu.RUnlock()
	if !recent {
		r.load(ctx)
	}
}

// lookup finds the backends serving model, accepting NAME for NAME:latest.
func (r *router) lookup(model string) []int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if idx, ok := r.models[model]; ok {
		return idx
	}
	if !strings.Contains(model, ":") {
		return r.models[model+":latest"]
	}
	return nil
}

// routeError says why no backend may serve a request.
type routeError struct {
	status  int    // 404 unknown model, 403 residency
	code    string // "model_not_found", "residency_violation"
	message string
}

// route returns the backends that serve model and that the caller's
// allowed jurisdictions (nil: any) permit, best first: healthy before
// unhealthy, otherwise in configuration order (the embedded engine first).
func (r *router) route(ctx context.Context, model string, allowed []string) ([]backend.Backend, *routeError) {
	idx := r.lookup(model)
	if len(idx) == 0 {
		r.reloadIfStale(ctx)
		idx = r.lookup(model)
	}
	if len(idx) == 0 {
		return nil, &routeError{404, "model_not_found", fmt.Sprintf("The model %q does not exist or is not served here.", model)}
	}
	var ok, sick []backend.Backend
	var refused []string
	for _, i := range idx {
		b := r.backends[i]
		j := b.Labels().Jurisdiction
		if allowed != nil && !slices.Contains(allowed, j) {
			refused = append(refused, fmt.Sprintf("%s (%s)", b.Name(), orNone(j)))
			continue
		}
		if b.Healthy() {
			ok = append(ok, b)
		} else {
			sick = append(sick, b)
		}
	}
	if len(ok)+len(sick) == 0 {
		return nil, &routeError{403, "residency_violation", fmt.Sprintf(
			"The model %q is served only outside the jurisdictions this key may use (allowed: %s; served by: %s). The request was not sent anywhere.",
			model, strings.Join(allowed, ", "), strings.Join(refused, ", "))}
	}
	return append(ok, sick...), nil
}

// visible lists the models a caller may use: allowed by its model list and
// served in an allowed jurisdiction.
func (r *router) visible(allowModel func(string) bool, allowedJur []string) []backend.Model {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []backend.Model
	for _, m := range r.list {
		if !allowModel(m.ID) {
			continue
		}
		for k, i := range m.backends {
			if !m.servable[k] {
				continue
			}
			if allowedJur == nil || slices.Contains(allowedJur, r.backends[i].Labels().Jurisdiction) {
				out = append(out, m.Model)
				break
			}
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "unlabelled"
	}
	return s
}

// intersect returns the jurisdictions allowed by both a key and its
// tenant; nil means any.
func intersect(a, b []string) []string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := []string{}
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
