// Package gateway is sov's OpenAI-compatible HTTP server: it authenticates
// callers by API key, applies their limits and residency rules, routes each
// request to a backend (the embedded engine or an upstream server), streams
// the answer back, and records every decision in the audit log and in
// Prometheus metrics.
//
// It holds no model logic (backends do) and never touches the key database
// on the request path: keys are authenticated from an in-memory cache. One
// handler table (routes in server.go) serves the whole API; errors become
// OpenAI-shaped JSON in one place (writeError).
package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"sov.dev/sov/internal/http1"
	"sov.dev/sov/internal/limits"

	"github.com/prometheus/client_golang/prometheus"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/keys"
)

// Options wires a Server. Authenticate is required; the others may be nil.
type Options struct {
	Backends []backend.Backend

	// Authenticate resolves an API key secret to its key, from memory.
	Authenticate func(secret string) (*keys.Key, error)
	// Admit applies a key's limits to a request expected to use about
	// estimate tokens; release settles with the tokens actually used.
	Admit func(k *keys.Key, estimate int64) (release func(used int64), d *limits.Denial)
	// Audit records an event without blocking.
	Audit func(kind, actor string, data map[string]any)
	// Admin serves the admin API (/admin/v1/...); nil disables it.
	Admin KeyAdmin

	// Tenants restricts keys by tenant: tenant → allowed jurisdictions
	// (a tenant not listed is unrestricted).
	Tenants map[string][]string

	MaxBodyBytes   int64
	RequestTimeout time.Duration
	// StreamWriteTimeout bounds writing one event of a stream to the
	// client (default 60s): a client that stops reading is cut off then.
	// A non-streamed answer must be written within RequestTimeout.
	StreamWriteTimeout time.Duration
	CORSOrigins        []string
	// LogContent records prompts and outputs in the audit log.
	LogContent bool

	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Gauges reports extra state for /metrics (queue depth, loaded models).
	Gauges func() map[string]float64
}

// Server is the gateway. Create it with New.
type Server struct {
	opts    Options
	log     *slog.Logger
	router  *router
	metrics *metrics
	mux     *http.ServeMux
	ids     *idSource

	// inflight counts requests being answered, for draining.
	inflight sync.WaitGroup
}

// New builds a Server.
func New(opts Options) (*Server, error) {
	if opts.Authenticate == nil {
		return nil, errors.New("gateway: no authenticator")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Minute
	}
	if opts.StreamWriteTimeout <= 0 {
		opts.StreamWriteTimeout = 60 * time.Second
	}
	if opts.Admit == nil {
		opts.Admit = func(*keys.Key, int64) (func(int64), *limits.Denial) { return func(int64) {}, nil }
	}
	if opts.Audit == nil {
		opts.Audit = func(string, string, map[string]any) {}
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		opts:   opts,
		log:    opts.Logger,
		router: newRouter(opts.Backends, opts.Logger),
		ids:    newIDSource(),
	}
	s.metrics = newMetrics(opts.Registry, s)
	s.routes()
	return s, nil
}

// routes is the handler table.
func (s *Server) routes() {
	m := http.NewServeMux()
	m.Handle("POST /v1/chat/completions", s.inference(backend.Chat, handleChat))
	m.Handle("POST /v1/completions", s.inference(backend.Completion, handleCompletion))
	m.Handle("POST /v1/embeddings", s.inference(backend.Embedding, handleEmbedding))
	m.Handle("GET /v1/models", s.authed(false, s.handleModels))
	m.Handle("GET /v1/models/{model...}", s.authed(false, s.handleModel))
	m.HandleFunc("GET /healthz", s.handleHealthz)
	m.HandleFunc("GET /readyz", s.handleReadyz)
	m.Handle("GET /metrics", s.metrics.handler())
	if s.opts.Admin != nil {
		s.adminRoutes(m)
	}
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, apiError(http.StatusNotFound, "invalid_request_error", "unknown_url", "", fmt.Sprintf("Unknown request URL: %s %s.", r.Method, r.URL.Path)))
	})
	s.mux = m
}

// Handler returns the server's HTTP handler with its middleware.
func (s *Server) Handler() http.Handler {
	return s.withRequestID(s.withRecover(s.withCORS(s.mux)))
}

// Start begins background work (model list refreshes) until ctx ends. Serve
// calls it; tests using Handler directly call it themselves.
func (s *Server) Start(ctx context.Context) {
	s.router.load(ctx)
	go s.router.run(ctx, 2*time.Second)
}

// ServeOptions configure Serve.
type ServeOptions struct {
	TLSCert, TLSKey   string
	MaxHeaderBytes    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
}

// Serve answers on ln until ctx ends, then stops accepting connections and
// waits up to ShutdownTimeout for in-flight requests (streams included) to
// finish before closing what is left.
func (s *Server) Serve(ctx context.Context, ln net.Listener, o ServeOptions) error {
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	s.Start(bg)
	hs := &http1.Server{
		Handler:           s.Handler(),
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       o.IdleTimeout,
		// Inference answers set their own write deadlines (see
		// clientOutput); this bounds the rest (errors, model lists,
		// metrics, the admin API) against clients that stop reading.
		WriteTimeout: time.Minute,
		Log:          s.log,
		BaseContext:  func(net.Listener) context.Context { return bg },
	}
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return fmt.Errorf("loading the TLS certificate: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	timeout := o.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := hs.Shutdown(sctx) // waits for handlers, streams included
	if err != nil {
		s.log.Warn("in-flight requests did not finish in time; closing them", "timeout", timeout)
		stop() // cancels the requests' contexts: generations stop
		hs.Close()
	}
	s.inflight.Wait()
	if err := <-errc; err != nil && !errors.Is(err, http1.ErrServerClosed) {
		return err
	}
	return nil
}
