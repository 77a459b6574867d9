// Package upstream is the backend.Backend for OpenAI-compatible servers the
// owner runs (llama-server, vLLM, Ollama, TGI, another sov): it forwards the
// client's request to one of a backend's replicas and relays the answer.
//
// It balances load across replicas (least in flight among healthy replicas
// whose circuit breaker lets requests through, ties round-robin), checks
// their health in the background, retries on another replica after
// connection errors, timeouts before the first byte, 5xx and 429 answers,
// and opens a replica's breaker after consecutive failures. It always asks
// streams for usage (stream_options.include_usage) so that usage is exact,
// and hides the usage chunk from clients that did not ask for it.
// Embeddings asked for as base64 are fetched as floats and encoded here,
// since not every server supports base64.
//
// It forwards the client's JSON body with only those edits and never
// forwards the client's credentials: each request carries the configured
// key. It must not log or retain prompts or outputs, and it keeps no
// package-level state: each Backend owns its HTTP transport and its health
// checker.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/http1"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout          = 5 * time.Minute
	DefaultConnectTimeout   = 5 * time.Second
	DefaultFirstByteTimeout = 60 * time.Second
	DefaultIdleTimeout      = 60 * time.Second
	DefaultMaxRetries       = 2
	DefaultHealthInterval   = 15 * time.Second
	DefaultHealthPath       = "/v1/models"
	DefaultBreakerFailures  = 5
	DefaultBreakerCooldown  = 30 * time.Second
	DefaultMaxIdleConns     = 1024
	DefaultMaxResponseBytes = 64 << 20
)

// Config describes one upstream backend. Zero values take the defaults
// above; where a negative value is allowed it turns the feature off.
type Config struct {
	// Name identifies the backend in logs, metrics and audit entries.
	Name string
	// URLs are the replicas' base URLs. Each is the server root
	// ("http://host:8080") or the root of its OpenAI API, ending in /v1
	// ("http://host:11434/v1"); both mean the same server. A path prefix
	// before /v1 is kept ("https://host/llm/v1").
	URLs []string
	// APIKey is sent as "Authorization: Bearer <APIKey>" on every request
	// (empty: no Authorization header). The caller resolves it from the
	// environment or a file; the client's own key is never forwarded.
	APIKey string
	// Models are the model names clients may ask this backend for. With
	// neither Models nor Aliases, the backend discovers them: GET
	// /v1/models on each replica at health-check time (and on first use).
	Models []string
	// Aliases maps a client-facing model name to the name sent upstream;
	// names not in it are sent unchanged. Its keys are served in addition
	// to Models.
	Aliases map[string]string
	// Labels say where the backend runs.
	Labels backend.Labels

	// Timeout bounds one attempt of a non-streamed request, answer
	// included.
	Timeout time.Duration
	// ConnectTimeout bounds dialling a replica (and the TLS handshake).
	ConnectTimeout time.Duration
	// FirstByteTimeout bounds the wait for a stream's first event.
	FirstByteTimeout time.Duration
	// IdleTimeout bounds the wait between two events of a stream.
	IdleTimeout time.Duration
	// MaxRetries is how many more attempts a request gets after its first
	// fails, each on another replica when there is one; negative: none.
	MaxRetries int
	// HealthInterval is the time between health checks; negative: no
	// checks (replicas are then always deemed healthy).
	HealthInterval time.Duration
	// HealthPath is what a health check GETs, relative to the server root:
	// "/v1/models" (the default) or, for llama-server, "/health". A 2xx
	// answer means healthy.
	HealthPath string
	// BreakerFailures is how many consecutive failures open a replica's
	// circuit breaker; negative: no breaker.
	BreakerFailures int
	// BreakerCooldown is how long an open breaker refuses requests before
	// it lets one trial request through (half-open).
	BreakerCooldown time.Duration
	// MaxIdleConns is how many idle connections are kept per replica. It
	// should be at least the requests a replica has in flight at a busy
	// moment: a connection that finds no room in the idle pool is closed,
	// and the next request pays for dialling a new one.
	MaxIdleConns int
	// MaxResponseBytes bounds a non-streamed answer's body.
	MaxResponseBytes int64
}

// withDefaults returns c with zero values replaced by the defaults, or an
// error naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Name == "" {
		return c, errors.New("upstream: config: name is empty")
	}
	if len(c.URLs) == 0 {
		return c, fmt.Errorf("upstream %s: config: no URLs", c.Name)
	}
	for _, d := range []struct {
		field string
		v     *time.Duration
		def   time.Duration
	}{
		{"timeout", &c.Timeout, DefaultTimeout},
		{"connect_timeout", &c.ConnectTimeout, DefaultConnectTimeout},
		{"first_byte_timeout", &c.FirstByteTimeout, DefaultFirstByteTimeout},
		{"idle_timeout", &c.IdleTimeout, DefaultIdleTimeout},
		{"breaker_cooldown", &c.BreakerCooldown, DefaultBreakerCooldown},
	} {
		if *d.v < 0 {
			return c, fmt.Errorf("upstream %s: config: %s is negative (%v)", c.Name, d.field, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	c.MaxRetries = max(c.MaxRetries, 0)
	if c.HealthInterval == 0 {
		c.HealthInterval = DefaultHealthInterval
	}
	if c.HealthPath == "" {
		c.HealthPath = DefaultHealthPath
	}
	if !strings.HasPrefix(c.HealthPath, "/") {
		return c, fmt.Errorf("upstream %s: config: health_path %q must start with /", c.Name, c.HealthPath)
	}
	if c.BreakerFailures == 0 {
		c.BreakerFailures = DefaultBreakerFailures
	}
	if c.MaxIdleConns <= 0 {
		c.MaxIdleConns = DefaultMaxIdleConns
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return c, nil
}

// serverRoot returns the root of the server that raw names: the URL without
// a trailing "/" or "/v1".
func serverRoot(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	if u.User != nil {
		return "", errors.New("credentials in the URL: use the api key setting")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("a query or fragment is not allowed")
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	p = strings.TrimSuffix(p, "/v1")
	return u.Scheme + "://" + u.Host + p, nil
}

// Backend is an OpenAI-compatible upstream with one or more replicas. It is
// safe for concurrent use.
type Backend struct {
	cfg      Config
	log      *slog.Logger
	tr       *http1.Transport
	replicas []*replica
	served   map[string]bool // configured model names (Models and Aliases keys)
	auth     []string        // the Authorization header value, nil without a key

	mu         sync.Mutex // guards the replicas' mutable state and rr
	rr         int        // round-robin start for the next pick
	discovered []backend.Model

	warnedNoUsage atomic.Bool

	stop context.CancelFunc
	done chan struct{}
}

var _ backend.Backend = (*Backend)(nil)

// New checks cfg and returns a Backend for it, with its health checker
// running (unless cfg.HealthInterval is negative). Close stops it. A nil log
// discards logs.
func New(cfg Config, log *slog.Logger) (*Backend, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Backend{
		cfg:    cfg,
		log:    log.With("backend", cfg.Name),
		served: make(map[string]bool),
		done:   make(chan struct{}),
	}
	if cfg.APIKey != "" {
		b.auth = []string{"Bearer " + cfg.APIKey}
	}
	seen := make(map[string]bool)
	for i, raw := range cfg.URLs {
		root, err := serverRoot(raw)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: config: url %q: %w", cfg.Name, raw, err)
		}
		if seen[root] {
			return nil, fmt.Errorf("upstream %s: config: url %q given twice", cfg.Name, raw)
		}
		seen[root] = true
		r := &replica{idx: i, root: root, healthy: true, endpoints: make(map[backend.Endpoint]*url.URL)}
		for _, e := range []backend.Endpoint{backend.Chat, backend.Completion, backend.Embedding} {
			path, _ := endpointPath(e)
			if r.endpoints[e], err = url.Parse(root + path); err != nil {
				return nil, fmt.Errorf("upstream %s: config: url %q: %w", cfg.Name, raw, err)
			}
		}
		b.replicas = append(b.replicas, r)
	}
	for _, m := range cfg.Models {
		if m == "" {
			return nil, fmt.Errorf("upstream %s: config: empty model name", cfg.Name)
		}
		b.served[m] = true
	}
	for m, to := range cfg.Aliases {
		if m == "" || to == "" {
			return nil, fmt.Errorf("upstream %s: config: alias %q → %q: empty name", cfg.Name, m, to)
		}
		b.served[m] = true
	}
	// Replicas behind a proxy (from the environment) go through net/http's
	// Transport; the rest through the lean one (transport.go).
	dialer := &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	proxied := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   cfg.ConnectTimeout,
		MaxIdleConns:          cfg.MaxIdleConns * len(b.replicas),
		MaxIdleConnsPerHost:   cfg.MaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Answers are relayed as they come: a transparently gunzipped
		// stream would only add buffering and CPU.
		DisableCompression: true,
	}
	b.tr = http1.NewTransport(cfg.ConnectTimeout, cfg.MaxIdleConns, proxied)
	ctx, cancel := context.WithCancel(context.Background())
	b.stop = cancel
	if cfg.HealthInterval > 0 {
		go b.healthLoop(ctx)
	} else {
		close(b.done)
	}
	return b, nil
}

// Close stops the health checker and closes idle connections. Requests in
// flight are not interrupted; their contexts govern them.
func (b *Backend) Close() {
	b.stop()
	<-b.done
	b.tr.Close()
}

// Name returns the configured name.
func (b *Backend) Name() string { return b.cfg.Name }

// Labels returns the configured labels.
func (b *Backend) Labels() backend.Labels { return b.cfg.Labels }

// Healthy reports whether some replica is healthy and its breaker would let
// a request through. It does no I/O.
func (b *Backend) Healthy() bool {
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.replicas {
		if r.healthy && r.admits(now, b.cfg.BreakerCooldown) {
			return true
		}
	}
	return false
}

// Models lists the configured models, or, when none are configured, those
// the replicas listed at the last health check. Before any listing
// succeeded it asks the replicas now.
func (b *Backend) Models(ctx context.Context) ([]backend.Model, error) {
	if len(b.served) > 0 {
		names := make([]string, 0, len(b.served))
		for m := range b.served {
			names = append(names, m)
		}
		slices.Sort(names)
		out := make([]backend.Model, len(names))
		for i, m := range names {
			out[i] = backend.Model{ID: m, OwnedBy: b.cfg.Name}
		}
		return out, nil
	}
	b.mu.Lock()
	ms := slices.Clone(b.discovered)
	b.mu.Unlock()
	if ms != nil {
		return ms, nil
	}
	if err := b.discover(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.discovered), nil
}

// serves reports whether the backend serves model, discovering the model
// list first when it is not configured and not yet known.
func (b *Backend) serves(ctx context.Context, model string) (bool, error) {
	if len(b.served) > 0 {
		return b.served[model], nil
	}
	ms, err := b.Models(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ms, func(m backend.Model) bool { return m.ID == model }), nil
}
