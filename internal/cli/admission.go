package cli

import (
	"context"
	"log/slog"
	"time"

	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/limits"
)

// admission applies keys' limits for the gateway and keeps token budgets
// across restarts: usage is seeded from the key store at start and the
// settled usage is written back in the background, never on the request
// path.
type admission struct {
	lim   *limits.Limiter
	store keys.Store
	log   *slog.Logger
}

func newAdmission(ctx context.Context, store keys.Store, log *slog.Logger) (*admission, error) {
	a := &admission{lim: limits.New(), store: store, log: log}
	ks, err := store.List(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for i := range ks {
		k := &ks[i]
		if k.Revoked != nil || k.TokenBudget <= 0 || k.BudgetWindow <= 0 {
			continue
		}
		ws := limits.WindowStart(now, k.BudgetWindow)
		used, err := store.Usage(ctx, k.ID, ws)
		if err != nil {
			return nil, err
		}
		a.lim.Seed(k, ws, used)
	}
	return a, nil
}

func (a *admission) admit(k *keys.Key, estimate int64) (func(int64), *limits.Denial) {
	t, d := a.lim.Acquire(k, estimate, time.Now())
	if d != nil {
		return nil, d
	}
	return func(used int64) { t.Release(used, time.Now()) }, nil
}

// run writes settled usage to the store every second until ctx ends, then
// once more.
func (a *admission) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			a.flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			a.flush(ctx)
		}
	}
}

func (a *admission) flush(ctx context.Context) {
	us := a.lim.Drain()
	for i, u := range us {
		if err := a.store.AddUsage(ctx, u.KeyID, u.WindowStart, u.Tokens); err != nil {
			a.log.Warn("recording token usage; will retry", "err", err)
			a.lim.Restore(us[i:])
			return
		}
	}
}
