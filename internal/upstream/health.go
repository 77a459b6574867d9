package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/openai"
)

// maxListBytes bounds a /v1/models answer and a health check's body.
const maxListBytes = 4 << 20

// healthLoop checks every replica at once and then every HealthInterval
// until ctx ends.
func (b *Backend) healthLoop(ctx context.Context) {
	defer close(b.done)
	t := time.NewTicker(b.cfg.HealthInterval)
	defer t.Stop()
	for {
		b.checkAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkAll runs one health check of every replica, concurrently.
func (b *Backend) checkAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range b.replicas {
		wg.Go(func() { b.check(ctx, r) })
	}
	wg.Wait()
}

// healthTimeout bounds one health check (and one model listing). It does
// not depend on the interval: checks never overlap, the next waits for the
// last, and a short interval must not turn a slow answer into "down".
func (b *Backend) healthTimeout() time.Duration {
	return b.cfg.ConnectTimeout + 5*time.Second
}

// check GETs the replica's health path, marks it up or down, and refreshes
// its model list when the backend discovers models.
func (b *Backend) check(ctx context.Context, r *replica) {
	ctx, cancel := context.WithTimeout(ctx, b.healthTimeout())
	defer cancel()
	body, err := b.get(ctx, r, b.cfg.HealthPath)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // Close
	}
	var models []backend.Model
	if err == nil && len(b.served) == 0 {
		if b.cfg.HealthPath != "/v1/models" {
			body, err = b.get(ctx, r, "/v1/models")
		}
		if err == nil {
			models, err = parseModels(body)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	was := r.healthy
	r.healthy = err == nil
	if err != nil {
		r.lastErr = "health check: " + err.Error()
		if was {
			b.log.Warn("replica unhealthy", "replica", r.root, "err", err)
		}
		return
	}
	if !was {
		b.log.Info("replica healthy again", "replica", r.root)
		r.lastErr = ""
	}
	if models != nil {
		r.models = models
		b.mergeModels()
	}
}

// discover lists the models of the replicas now, stopping at the first
// that answers; it is used before any health check has listed them.
func (b *Backend) discover(ctx context.Context) error {
	var errs []error
	for _, r := range b.replicas {
		lctx, cancel := context.WithTimeout(ctx, b.healthTimeout())
		body, err := b.get(lctx, r, "/v1/models")
		cancel()
		var models []backend.Model
		if err == nil {
			models, err = parseModels(body)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("%s: %w", r.root, err))
			continue
		}
		b.mu.Lock()
		r.models = models
		b.mergeModels()
		b.mu.Unlock()
		return nil
	}
	return fmt.Errorf("upstream %s: listing models: %w: %w", b.cfg.Name, backend.ErrUnavailable, errors.Join(errs...))
}

// mergeModels sets the discovered list to the union of the replicas' last
// listings, sorted by id. A replica that is down keeps its last listing: the
// backend still serves those models, it is just unavailable for now. b.mu is
// held.
func (b *Backend) mergeModels() {
	seen := make(map[string]bool)
	var all []backend.Model
	for _, r := range b.replicas {
		for _, m := range r.models {
			if !seen[m.ID] {
				seen[m.ID] = true
				all = append(all, m)
			}
		}
	}
	slices.SortFunc(all, func(x, y backend.Model) int {
		switch {
		case x.ID < y.ID:
			return -1
		case x.ID > y.ID:
			return 1
		}
		return 0
	})
	if all == nil {
		all = []backend.Model{}
	}
	b.discovered = all
}

// get GETs path on the replica with the configured key and returns the
// body of a 2xx answer.
func (b *Backend) get(ctx context.Context, r *replica, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.root+path, nil)
	if err != nil {
		return nil, err
	}
	if b.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+b.cfg.APIKey)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := b.tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the answer: %w", path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	if len(body) > maxListBytes {
		return nil, fmt.Errorf("GET %s: answer over %d bytes", path, maxListBytes)
	}
	return body, nil
}

// parseModels reads a /v1/models answer.
func parseModels(body []byte) ([]backend.Model, error) {
	var list openai.ModelList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("model list: %w", err)
	}
	out := make([]backend.Model, 0, len(list.Data))
	for _, m := range list.Data {
		if m.ID == "" {
			continue
		}
		out = append(out, backend.Model{ID: m.ID, Created: m.Created, OwnedBy: m.OwnedBy})
	}
	return out, nil
}
