// Package upstreamtest runs a small OpenAI-compatible server on loopback for
// tests and for the gateway benchmark: GET /v1/models, POST
// /v1/chat/completions (plain and server-sent events), POST /v1/completions,
// POST /v1/embeddings (float and base64) and a llama-server style GET
// /health.
//
// Its answers are deterministic: the reply is a fixed text or an echo of the
// last user message (prompt), tokens are whitespace-separated words, and the
// usage it reports is exact by that count. Streams honour
// stream_options.include_usage the way OpenAI does: "usage": null on every
// chunk and a final chunk with empty choices carrying the usage. Faults can
// be switched on and off while it runs (error statuses, slowness, dropped
// streams, garbled JSON, hangs, closed connections), and it records the
// requests it received so that tests can assert what a client sent.
//
// It is test support only: production code must not use it. It does no
// per-request logging and reuses buffers so that one core serves well over a
// thousand requests a second. It deliberately imports neither the OpenAI
// wire package nor the upstream client it helps to test, so that it stays an
// independent implementation of the protocol.
package upstreamtest

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// UsageMode says how a stream reports usage.
type UsageMode int

const (
	// UsageOpenAI reports usage like OpenAI: only when the client set
	// stream_options.include_usage, as a final chunk with empty choices,
	// and "usage": null on every other chunk.
	UsageOpenAI UsageMode = iota
	// UsageOnLastChunk attaches the usage to the chunk that carries the
	// finish_reason instead of a separate chunk (when asked for).
	UsageOnLastChunk
	// UsageAlways attaches the usage to the finishing chunk whether or not
	// the client asked for it, as some servers do.
	UsageAlways
	// UsageNever never reports usage in a stream, like old servers.
	UsageNever
)

// Options configure a Server. The zero value is a working server.
type Options struct {
	// Models are the model ids served; nil means {"test-model"}.
	Models []string
	// APIKey, when set, is the bearer token every /v1 request must carry.
	APIKey string
	// Reply is the fixed answer text; empty means an echo of the last user
	// message (chat) or of the prompt (completions). Either way the content
	// is its whitespace-separated words joined by single spaces.
	Reply string
	// Latency is waited before the first byte of every inference answer.
	Latency time.Duration
	// TokensPerChunk is how many words one stream chunk carries (default 1).
	TokensPerChunk int
	// ChunkDelay is waited between stream chunks.
	ChunkDelay time.Duration
	// EmbeddingDim is the length of embedding vectors (default 8).
	EmbeddingDim int
	// Usage says how streams report usage.
	Usage UsageMode
	// MaxRecorded bounds how many of the latest requests are kept for
	// Requests: 0 means 1000, a negative value records nothing.
	MaxRecorded int
}

// Request is one request the server received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Server is a running test upstream. Create it with New or run one with
// Serve; it is safe for concurrent use.
type Server struct {
	// URL is the server root, "http://127.0.0.1:PORT"; the OpenAI API is
	// under URL+"/v1".
	URL string

	opts   Options
	models []string
	srv    *http.Server
	ln     net.Listener
	done   chan struct{} // closed by Close: hung handlers return
	served chan struct{} // closed when srv.Serve returns
	wg     sync.WaitGroup
	close  sync.Once
	bufs   sync.Pool

	conns     atomic.Int64 // connections accepted
	started   atomic.Int64 // inference requests received
	active    atomic.Int64 // inference requests being answered now
	cancelled atomic.Int64 // requests whose client went away before the answer ended

	mu        sync.Mutex
	failN     int
	failCode  int
	slow      time.Duration
	dropAfter int // chunks sent before the connection drops; <0 off
	errAfter  int // chunks sent before an error event; <0 off
	badJSON   bool
	hang      bool
	closeConn bool
	unhealthy bool
	records   []Request
}

// New starts a Server on a random 127.0.0.1 port. It panics if it cannot
// listen, like httptest.NewServer.
func New(opts Options) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("upstreamtest: listen: " + err.Error())
	}
	s := newServer(ln, opts)
	s.start()
	return s
}

// Serve runs a Server on addr until ctx ends, then closes it. It is the
// entry point for running the test upstream as a separate process (the
// gateway benchmark does).
func Serve(ctx context.Context, addr string, opts Options) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s := newServer(ln, opts)
	s.start()
	select {
	case <-ctx.Done():
	case <-s.served:
	}
	s.Close()
	return nil
}

func newServer(ln net.Listener, opts Options) *Server {
	if opts.TokensPerChunk <= 0 {
		opts.TokensPerChunk = 1
	}
	if opts.EmbeddingDim <= 0 {
		opts.EmbeddingDim = 8
	}
	if opts.MaxRecorded == 0 {
		opts.MaxRecorded = 1000
	}
	models := slices.Clone(opts.Models)
	if len(models) == 0 {
		models = []string{"test-model"}
	}
	s := &Server{
		URL:       "http://" + ln.Addr().String(),
		opts:      opts,
		models:    models,
		ln:        ln,
		done:      make(chan struct{}),
		served:    make(chan struct{}),
		dropAfter: -1,
		errAfter:  -1,
	}
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	return s
}

func (s *Server) start() {
	go func() {
		defer close(s.served)
		s.srv.Serve(s.ln)
	}()
}

// Close stops the server: it closes the listener and every connection,
// releases hung handlers, and waits for all handlers to return.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.done)
		s.srv.Close()
		<-s.served
		s.wg.Wait()
	})
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// FailNext makes the next n inference requests fail with status (an
// OpenAI-shaped error body; a 429 or 503 also carries Retry-After: 0).
// n <= 0 clears it.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = max(n, 0), status
}

// Slow adds d before the first byte of every inference answer, on top of
// Options.Latency; 0 turns it off.
func (s *Server) Slow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slow = d
}

// DropStreamAfter makes streams send k chunks and then drop the connection
// without finishing the response; a negative k turns it off.
func (s *Server) DropStreamAfter(k int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropAfter = max(k, -1)
}

// ErrorEventAfter makes streams send k chunks, then an OpenAI error event
// ({"error":{...}}) and [DONE]; a negative k turns it off.
func (s *Server) ErrorEventAfter(k int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errAfter = max(k, -1)
}

// BadJSON makes inference answers garbled: a 200 with a body (or stream
// events) that is not valid JSON.
func (s *Server) BadJSON(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badJSON = on
}

// Hang makes inference requests never answer: the handler waits until the
// client goes away or the server closes.
func (s *Server) Hang(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang = on
}

// CloseConnection makes inference requests close the connection without
// any answer.
func (s *Server) CloseConnection(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeConn = on
}

// Unhealthy makes GET /health and GET /v1/models answer 503.
func (s *Server) Unhealthy(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unhealthy = on
}

// ResetFaults turns every fault off.
func (s *Server) ResetFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode, s.slow = 0, 0, 0
	s.dropAfter, s.errAfter = -1, -1
	s.badJSON, s.hang, s.closeConn, s.unhealthy = false, false, false, false
}

// Requests returns copies of the recorded requests, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

// RequestsTo returns the recorded requests for path (e.g.
// "/v1/chat/completions"), oldest first.
func (s *Server) RequestsTo(path string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = nil
}

// Started returns how many inference requests (chat, completions,
// embeddings) the server has received.
func (s *Server) Started() int64 { return s.started.Load() }

// Connections returns how many connections the server has accepted.
func (s *Server) Connections() int64 { return s.conns.Load() }

// Active returns how many inference requests are being answered now.
func (s *Server) Active() int64 { return s.active.Load() }

// Cancelled returns how many inference requests ended because the client
// went away (the request context ended) before the answer was complete.
func (s *Server) Cancelled() int64 { return s.cancelled.Load() }

// WaitIdle waits until no inference request is being answered, or ctx ends.
func (s *Server) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for s.active.Load() != 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// faults is a snapshot of the fault switches taken when a request arrives.
type faults struct {
	failCode  int
	delay     time.Duration
	dropAfter int
	errAfter  int
	badJSON   bool
	hang      bool
	closeConn bool
}

func (s *Server) takeFaults() faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := faults{
		delay:     s.opts.Latency + s.slow,
		dropAfter: s.dropAfter,
		errAfter:  s.errAfter,
		badJSON:   s.badJSON,
		hang:      s.hang,
		closeConn: s.closeConn,
	}
	if s.failN > 0 {
		s.failN--
		f.failCode = s.failCode
	}
	return f
}

func (s *Server) record(r *http.Request, body []byte) {
	if s.opts.MaxRecorded < 0 {
		return
	}
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: slices.Clone(body)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.records) >= s.opts.MaxRecorded {
		n := copy(s.records, s.records[1:])
		s.records = s.records[:n]
	}
	s.records = append(s.records, rec)
}

// wait sleeps d, returning false when the client went away or the server
// closed first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

const maxRequestBody = 8 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()

	bp := s.bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 1<<20 {
			s.bufs.Put(bp)
		}
	}()
	body, err := readBody((*bp)[:0], r.Body, maxRequestBody)
	*bp = body[:0]
	s.record(r, body)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "", "request body too large")
		return
	}

	switch r.URL.Path {
	case "/health":
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "use GET")
			return
		}
		if s.isUnhealthy() {
			writeError(w, http.StatusServiceUnavailable, "server_error", "", "unhealthy")
			return
		}
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
		return
	case "/v1/models":
		if !s.authorized(w, r) {
			return
		}
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "use GET")
			return
		}
		if s.isUnhealthy() {
			writeError(w, http.StatusServiceUnavailable, "server_error", "", "unhealthy")
			return
		}
		writeJSON(w, http.StatusOK, s.appendModels((*bp)[len(body):len(body)]))
		return
	case "/v1/chat/completions", "/v1/completions", "/v1/embeddings":
	default:
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "unknown path "+r.URL.Path)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "", "use POST")
		return
	}
	s.started.Add(1)
	s.active.Add(1)
	defer s.active.Add(-1)

	f := s.takeFaults()
	ctx := r.Context()
	switch {
	case f.closeConn:
		closeConnection(w)
		return
	case f.hang:
		select {
		case <-ctx.Done():
			s.cancelled.Add(1)
		case <-s.done:
		}
		return
	}
	if !s.wait(ctx, f.delay) {
		if ctx.Err() != nil {
			s.cancelled.Add(1)
		}
		return
	}
	if f.failCode != 0 {
		if f.failCode == http.StatusTooManyRequests || f.failCode == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "0")
		}
		typ := "server_error"
		if f.failCode < 500 {
			typ = "invalid_request_error"
		}
		writeError(w, f.failCode, typ, "", "injected failure")
		return
	}

	a := answerer{s: s, w: w, r: r, f: f, buf: (*bp)[len(body):len(body)]}
	switch r.URL.Path {
	case "/v1/chat/completions":
		a.chat(body)
	case "/v1/completions":
		a.completion(body)
	case "/v1/embeddings":
		a.embeddings(body)
	}
	if cap(a.buf) > cap(*bp) {
		*bp = a.buf[:0]
	}
}

func (s *Server) isUnhealthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unhealthy
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.APIKey == "" || r.Header.Get("Authorization") == "Bearer "+s.opts.APIKey {
		return true
	}
	writeErrorCode(w, http.StatusUnauthorized, "invalid_request_error", "", "invalid_api_key", "Incorrect API key provided.")
	return false
}

func (s *Server) servesModel(m string) bool { return slices.Contains(s.models, m) }

// readBody appends all of r to buf, failing when it exceeds limit bytes.
func readBody(buf []byte, r io.Reader, limit int) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return buf, errors.New("too large")
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// closeConnection drops the client's connection without an answer.
func closeConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
