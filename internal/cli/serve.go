package cli

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/atomicfile"
	"sov.dev/sov/internal/audit"
	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/config"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/gate"
	"sov.dev/sov/internal/gateway"
	"sov.dev/sov/internal/keys"
	keysqlite "sov.dev/sov/internal/keys/sqlite"
	"sov.dev/sov/internal/runner"
	"sov.dev/sov/internal/upstream"
)

// serveStateFile is written by a running sov serve so that the CLI on the
// same machine can find its admin API.
const serveStateFile = "serve.json"

type serveState struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

func (a *app) serveCommand() *cobra.Command {
	var addr, cfgPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the vault's models over an OpenAI-compatible API",
		Long: `serve runs sov's gateway: an OpenAI-compatible HTTP API (/v1/chat/completions,
/v1/completions, /v1/embeddings, /v1/models) in front of the embedded engine
(models from the vault, loaded on first use) and any OpenAI-compatible servers
named in the config file, with API keys, limits, data-residency routing, a
tamper-evident audit log and Prometheus metrics (/metrics).

With no keys yet, serve creates an admin key, writes it to SOV_HOME/admin.key
(readable only by you) and says so; create inference keys with sov keys create.
Without --config, it serves the vault on the embedded engine at ` + config.DefaultAddr + `.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.serve(cmd.Context(), addr, cfgPath)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address HOST:PORT (default "+config.DefaultAddr+")")
	cmd.Flags().StringVar(&cfgPath, "config", "", "configuration file (YAML; see docs/design/gateway.md)")
	return cmd
}

func (a *app) serve(ctx context.Context, addr, cfgPath string) (err error) {
	cfg, err := config.LoadServe(cfgPath)
	if err != nil {
		return err
	}
	if addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return &usageError{fmt.Errorf("--addr %q: %w", addr, err)}
		}
		cfg.Addr = addr
	}
	log := a.serveLogger(cfg)
	home := a.cfg.Home
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}

	// Keys: the database, the server secret, the authenticator cache.
	hasher, err := keys.LoadServerSecret(home)
	if err != nil {
		return err
	}
	kstore, err := keysqlite.Open(ctx, filepath.Join(home, keysqlite.File))
	if err != nil {
		return err
	}
	defer kstore.Close()
	cache, err := keys.NewCache(ctx, kstore, hasher, log.With("component", "keys"))
	if err != nil {
		return err
	}
	mgr := &keys.Manager{Store: kstore, Hasher: hasher, Cache: cache}

	// The audit log, written in the background.
	alog, err := audit.Open(ctx, home, audit.Options{Logger: log.With("component", "audit")})
	if err != nil {
		return err
	}
	defer alog.Close()
	aw := audit.NewWriter(alog, audit.WriterOptions{CheckpointInterval: time.Duration(cfg.Audit.CheckpointInterval), Logger: log.With("component", "audit")})
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if cerr := aw.Close(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("closing the audit log: %w", cerr)
		}
	}()
	record := func(kind, actor string, data map[string]any) {
		aw.Record(audit.Entry{Kind: kind, Actor: actor, Data: data})
	}

	if path, created, err := mgr.EnsureAdmin(ctx, home); err != nil {
		return err
	} else if created {
		k, _ := mgr.Get(ctx, keys.AdminKeyName)
		record("key.create", "serve", map[string]any{"key_id": k.ID, "name": k.Name, "kind": "admin", "via": "first start"})
		fmt.Fprintf(a.env.Stderr, "sov: created an admin key in %s (readable only by you); create inference keys with: sov keys create --name NAME\n", path)
	}

	// Backends: the embedded engine, then the configured upstreams.
	var backends []backend.Backend
	var run *runner.Runner
	if !cfg.Engine.Disabled {
		v, err := a.openVault(ctx)
		if err != nil {
			return err
		}
		g, err := a.openGate(ctx)
		if err != nil {
			return err
		}
		approved := newApprovalCache(g, time.Second)
		run = runner.New(runner.Options{
			Allow: approved.check,
			Vault: v, Name: "local", Threads: cfg.Engine.Threads, ContextLen: cfg.Engine.ContextLength,
			Sessions: cfg.Engine.Sessions, MemoryBudget: int64(cfg.Engine.MemoryBudget),
			IdleTimeout: time.Duration(cfg.Engine.IdleTimeout), MaxQueue: cfg.Engine.MaxQueue,
			Labels: backend.Labels{Site: orDefault(cfg.Node.Site, "local"), Jurisdiction: cfg.Node.Jurisdiction},
			Logger: log.With("component", "engine"),
		})
		defer run.Close()
		backends = append(backends, run)
	}
	for _, bc := range cfg.Backends {
		key, err := bc.APIKey(a.env.Getenv)
		if err != nil {
			return err
		}
		b, err := upstream.New(upstream.Config{
			Name: bc.Name, URLs: bc.URLs, APIKey: key, Models: bc.Models,
			Labels:  backend.Labels{Site: bc.Site, Jurisdiction: bc.Jurisdiction},
			Timeout: time.Duration(bc.Timeout), ConnectTimeout: time.Duration(bc.ConnectTimeout),
			FirstByteTimeout: time.Duration(bc.FirstByteTimeout), IdleTimeout: time.Duration(bc.IdleTimeout),
			MaxRetries: *bc.MaxRetries, HealthInterval: time.Duration(bc.HealthInterval), HealthPath: bc.HealthPath,
			BreakerFailures: bc.BreakerFailures, BreakerCooldown: time.Duration(bc.BreakerCooldown),
		}, log.With("component", "upstream", "backend", bc.Name))
		if err != nil {
			return fmt.Errorf("backend %s: %w", bc.Name, err)
		}
		defer b.Close()
		backends = append(backends, b)
	}
	if len(backends) == 0 {
		return errors.New("nothing to serve: the engine is disabled and the config names no backends")
	}

	tenants := map[string][]string{}
	for _, t := range cfg.Tenants {
		tenants[t.Name] = t.Jurisdictions
	}
	adm, err := newAdmission(ctx, kstore, log.With("component", "limits"))
	if err != nil {
		return err
	}

	srv, err := gateway.New(gateway.Options{
		Backends:       backends,
		Authenticate:   cache.Authenticate,
		Admit:          adm.admit,
		Audit:          record,
		Admin:          mgr,
		Tenants:        tenants,
		MaxBodyBytes:   int64(cfg.Limits.MaxBodyBytes),
		RequestTimeout: time.Duration(cfg.Limits.RequestTimeout),
		CORSOrigins:    cfg.CORS.AllowedOrigins,
		LogContent:     cfg.Audit.LogContent,
		Logger:         log,
		Gauges:         serveGauges(run, aw),
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if cfg.TLS.Cert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	statePath := filepath.Join(home, serveStateFile)
	if data, err := json.Marshal(serveState{URL: url, PID: os.Getpid()}); err == nil {
		atomicfile.WriteFile(statePath, data, 0o600)
	}
	defer os.Remove(statePath)

	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	var background sync.WaitGroup
	background.Go(func() { cache.Watch(bg, 250*time.Millisecond) })
	background.Go(func() { adm.run(bg) }) // flushes usage once more when bg ends
	// Stop and wait before the deferred closes of the key store run.
	defer background.Wait()
	defer stop()

	start := map[string]any{"url": url, "pid": os.Getpid(), "backends": backendNames(backends), "config": cfgPath}
	if cfgPath != "" {
		// The configuration's digest: comparing it across serve.start
		// entries shows every configuration change.
		if data, err := os.ReadFile(cfgPath); err == nil {
			start["config_sha256"] = fmt.Sprintf("%x", sha256.Sum256(data))
		}
	}
	digest, _ := start["config_sha256"].(string)
	lastPath := filepath.Join(home, "serve-config.sha256")
	last, _ := os.ReadFile(lastPath)
	if prev := strings.TrimSpace(string(last)); prev != digest {
		record("config.change", "serve", map[string]any{"config": cfgPath, "from_sha256": prev, "to_sha256": digest})
		atomicfile.WriteFile(lastPath, []byte(digest+"\n"), 0o600)
	}
	record("serve.start", "serve", start)
	fmt.Fprintf(a.env.Stderr, "sov: serving on %s (OpenAI API at %s/v1)\n", url, url)
	log.Info("serving", "url", url, "backends", backendNames(backends))
	err = srv.Serve(ctx, ln, gateway.ServeOptions{
		TLSCert: cfg.TLS.Cert, TLSKey: cfg.TLS.Key,
		MaxHeaderBytes:    int(cfg.Limits.MaxHeaderBytes),
		ReadHeaderTimeout: time.Duration(cfg.Limits.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(cfg.Limits.ReadTimeout),
		IdleTimeout:       time.Duration(cfg.Limits.IdleTimeout),
		ShutdownTimeout:   time.Duration(cfg.Limits.ShutdownTimeout),
	})
	record("serve.stop", "serve", map[string]any{"url": url, "pid": os.Getpid()})
	fmt.Fprintln(a.env.Stderr, "sov: stopped")
	return err
}

func (a *app) serveLogger(cfg *config.Serve) *slog.Logger {
	level := slog.LevelInfo
	switch cfg.Log.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	o := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(a.env.Stderr, o))
	}
	return slog.New(slog.NewTextHandler(a.env.Stderr, o))
}

func serveGauges(run *runner.Runner, aw *audit.Writer) func() map[string]float64 {
	return func() map[string]float64 {
		g := map[string]float64{}
		if run != nil {
			st := run.Status()
			g["sov_engine_queue_depth"] = float64(run.QueueDepth())
			g["sov_engine_loaded_models"] = float64(len(st.Models))
			g["sov_engine_memory_bytes"] = float64(st.MemoryUsed)
		}
		s := aw.Stats()
		g["sov_audit_pending_entries"] = float64(s.Pending)
		g["sov_audit_dropped_entries"] = float64(s.Dropped)
		return g
	}
}

func backendNames(bs []backend.Backend) string {
	var names []string
	for _, b := range bs {
		names = append(names, b.Name())
	}
	return strings.Join(names, ",")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// approvalCache answers "may this model version be served?" from the trust
// gate, remembering each answer for ttl so that the store is read at most
// once a second per model, not on every request. A decision therefore takes
// effect within ttl.
type approvalCache struct {
	g   *gate.Gate
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]approval
}

type approval struct {
	err error
	at  time.Time
}

func newApprovalCache(g *gate.Gate, ttl time.Duration) *approvalCache {
	return &approvalCache{g: g, ttl: ttl, m: map[string]approval{}}
}

func (c *approvalCache) check(ctx context.Context, ref string) error {
	now := time.Now()
	c.mu.Lock()
	a, ok := c.m[ref]
	c.mu.Unlock()
	if ok && now.Sub(a.at) < c.ttl {
		return a.err
	}
	d, err := digest.Parse(ref)
	if err != nil {
		return err
	}
	err = c.g.Approved(ctx, d)
	var na *gate.NotApprovedError
	if err != nil && !errors.As(err, &na) {
		// The gate could not answer (a database error, a cancelled
		// request): not a decision about the model, so not cached, and
		// a 503 for the client rather than a refusal.
		return fmt.Errorf("%w: the trust gate could not be read: %w", backend.ErrUnavailable, err)
	}
	c.mu.Lock()
	c.m[ref] = approval{err, now}
	c.mu.Unlock()
	return err
}
