package http1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Transport is an HTTP/1.1 client transport (an http.RoundTripper) that
// writes each request and reads its answer on the caller's goroutine, on a
// pooled keep-alive connection. net/http's Transport hands every request to
// a per-connection writer goroutine and every answer back from a
// per-connection reader goroutine; on a small machine those hand-offs cost
// more than everything else the gateway does for a request.
//
// Hosts that the environment's proxy settings (HTTP_PROXY, HTTPS_PROXY,
// NO_PROXY) send through a proxy are served by the fallback transport.
//
// What it does not do: HTTP/2, compression, Expect: 100-continue. Request
// bodies are read whole before they are sent (requests here are small JSON
// documents).
type Transport struct {
	dialer      net.Dialer
	tls         *tls.Config // base TLS settings for https; ServerName is set per host
	maxIdle     int         // idle connections kept per host
	idleTimeout time.Duration
	proxy       func(*http.Request) (*url.URL, error) // nil: never a proxy
	fallback    http.RoundTripper                     // for proxied hosts

	mu     sync.Mutex
	pools  map[string]*pool // by scheme://host:port
	closed bool             // Close was called: no more pooling
}

// pool is one host's idle connections, most recently used last.
type pool struct {
	addr    string // host:port to dial
	https   bool
	server  string // TLS server name
	proxied bool   // use the fallback transport
	idle    []*pconn
	sweep   bool // a sweep of expired connections is scheduled
}

// pconn is one connection to a host.
type pconn struct {
	conn   net.Conn        // TCP, or TLS over it
	raw    syscall.RawConn // the TCP connection's, for the liveness check; nil if unavailable
	br     *bufio.Reader
	bw     *bufio.Writer
	read   int64 // bytes read from conn since the request was written
	limit  int64 // bytes the answer's head may still take; <0: no limit
	wrote  bool  // the whole request was written
	reused bool  // it had carried a request before this one
	since  time.Time
}

func (c *pconn) Read(p []byte) (int, error) {
	if c.limit >= 0 {
		if c.limit == 0 {
			return 0, errAnswerHeadTooLarge
		}
		if int64(len(p)) > c.limit {
			p = p[:c.limit]
		}
	}
	n, err := c.conn.Read(p)
	c.read += int64(n)
	if c.limit >= 0 {
		c.limit -= int64(n)
	}
	return n, err
}

// maxAnswerHead bounds the head of an answer (net/http's Transport allows
// 10 MB; an OpenAI-compatible server sends a few hundred bytes), and
// maxInformational the 1xx answers before the real one.
const (
	maxAnswerHead    = 1 << 20
	maxInformational = 5
)

var errAnswerHeadTooLarge = errors.New("the answer's head is larger than 1 MiB")

// trustIdle is how long an idle connection is used without first checking
// that the server has not closed it.
const trustIdle = 100 * time.Millisecond

// aLongTimeAgo is a deadline in the past: it makes blocked and future
// reads and writes on a connection fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// NewTransport returns a Transport that gives up dialling after
// connectTimeout (0: no limit), keeps up to maxIdle idle connections per
// host, and hands requests for proxied hosts to fallback.
func NewTransport(connectTimeout time.Duration, maxIdle int, fallback http.RoundTripper) *Transport {
	return &Transport{
		dialer:      net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second},
		tls:         &tls.Config{MinVersion: tls.VersionTLS12},
		maxIdle:     maxIdle,
		idleTimeout: 90 * time.Second,
		proxy:       http.ProxyFromEnvironment,
		fallback:    fallback,
		pools:       make(map[string]*pool),
	}
}

// errTransportClosed is returned for requests made after Close.
var errTransportClosed = errors.New("http1: transport closed")

// RoundTrip sends req and returns the answer. The answer's body must be
// read to its end or closed; reading it to its end returns the connection
// to the pool. Body reads must not run concurrently with Close; the
// request's context aborts either at any time.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	p, err := t.pool(req)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if p.proxied {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	body, err := requestBody(req)
	if err != nil {
		return nil, err
	}
	for retried := false; ; retried = true {
		c, err := t.get(ctx, p)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(ctx, p, c, req, body)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), ctx.Err())
		}
		// A kept-alive connection the server closed while it was idle
		// fails before a byte of the answer arrives. Try once more on a
		// fresh connection when the server cannot have acted on the
		// request: it was not written whole, or repeating it is harmless.
		// (A POST written whole may have been read and acted on by a
		// server that then failed; sending it again could run it twice.)
		if !retried && c.reused && c.read == 0 && staleError(err) && (!c.wrote || replayable(req)) {
			t.dropIdle(p)
			continue
		}
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
}

// Body is a request body held in memory. The Transport sends it as it is,
// without copying; other transports read it like any body.
type Body struct {
	*bytes.Reader
	b []byte
}

// NewBody returns a Body over b, which must not change until the request
// is answered.
func NewBody(b []byte) *Body { return &Body{bytes.NewReader(b), b} }

// Close does nothing.
func (*Body) Close() error { return nil }

// requestBody reads req's body whole (request bodies here are small JSON
// documents) and closes it, as a RoundTripper must.
func requestBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	if b, ok := req.Body.(*Body); ok && b.Len() == len(b.b) {
		return b.b, nil
	}
	size := req.ContentLength
	if size < 0 || size > 64<<20 {
		size = 0
	}
	buf := make([]byte, 0, size)
	for {
		n, err := req.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the request body: %w", err)
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
	if req.ContentLength > 0 && int64(len(buf)) != req.ContentLength {
		return nil, fmt.Errorf("request body is %d bytes, ContentLength says %d", len(buf), req.ContentLength)
	}
	return buf, nil
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// replayable reports whether req may be sent again after a failure the
// server may have seen (RFC 9110, 9.2.2; net/http's rule).
func replayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
}

// staleError reports whether err is what a write to, or a read from, a
// connection the peer has closed returns.
func staleError(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

// pool returns the pool for req's host, creating it.
func (t *Transport) pool(req *http.Request) (*pool, error) {
	u := req.URL
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host in the request URL")
	}
	key := u.Scheme + "://" + u.Host
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, errTransportClosed
	}
	if p := t.pools[key]; p != nil {
		return p, nil
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	p := &pool{addr: net.JoinHostPort(host, port), https: u.Scheme == "https", server: host}
	if t.proxy != nil {
		pu, err := t.proxy(&http.Request{URL: &url.URL{Scheme: u.Scheme, Host: u.Host}})
		if err != nil {
			return nil, fmt.Errorf("proxy settings: %w", err)
		}
		p.proxied = pu != nil
	}
	t.pools[key] = p
	return p, nil
}

// get returns a live idle connection to p's host, or dials one.
func (t *Transport) get(ctx context.Context, p *pool) (*pconn, error) {
	now := time.Now()
	t.mu.Lock()
	for len(p.idle) > 0 {
		c := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(c.since) > t.idleTimeout {
			// The rest are older still.
			old := p.idle
			p.idle = nil
			t.mu.Unlock()
			c.conn.Close()
			for _, o := range old {
				o.conn.Close()
			}
			t.mu.Lock()
			break
		}
		t.mu.Unlock()
		// A connection idle a moment ago is trusted without the peek (a
		// system call): servers close idle connections after seconds.
		// Should one have closed it anyway, the request fails before
		// any answer and is sent again if it is replayable.
		if now.Sub(c.since) < trustIdle || c.alive() {
			c.reused, c.read = true, 0
			return c, nil
		}
		c.conn.Close()
		t.mu.Lock()
	}
	t.mu.Unlock()
	return t.dial(ctx, p)
}

// dial connects to p's host, with the TLS handshake for https, within the
// connect timeout.
func (t *Transport) dial(ctx context.Context, p *pool) (*pconn, error) {
	if t.dialer.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.dialer.Timeout)
		defer cancel()
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	c := &pconn{conn: nc, limit: -1}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	if p.https {
		cfg := t.tls.Clone()
		cfg.ServerName = p.server
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", p.addr, err)
		}
		c.conn = tc
	}
	c.br = bufio.NewReaderSize(c, 4<<10)
	c.bw = bufio.NewWriterSize(c.conn, 4<<10)
	return c, nil
}

// put returns c to p's idle connections, or closes it when the pool is
// full or closed.
func (t *Transport) put(p *pool, c *pconn) {
	c.since = time.Now()
	t.mu.Lock()
	if t.closed || len(p.idle) >= t.maxIdle {
		t.mu.Unlock()
		c.conn.Close()
		return
	}
	p.idle = append(p.idle, c)
	if !p.sweep {
		p.sweep = true
		time.AfterFunc(t.idleTimeout, func() { t.sweepIdle(p) })
	}
	t.mu.Unlock()
}

// sweepIdle closes p's connections idle longer than the idle timeout, and
// comes back later while any remain.
func (t *Transport) sweepIdle(p *pool) {
	now := time.Now()
	t.mu.Lock()
	var expired []*pconn
	keep := p.idle[:0]
	for _, c := range p.idle {
		if now.Sub(c.since) > t.idleTimeout {
			expired = append(expired, c)
		} else {
			keep = append(keep, c)
		}
	}
	clear(p.idle[len(keep):])
	p.idle = keep
	p.sweep = len(p.idle) > 0 && !t.closed
	if p.sweep {
		time.AfterFunc(t.idleTimeout, func() { t.sweepIdle(p) })
	}
	t.mu.Unlock()
	for _, c := range expired {
		c.conn.Close()
	}
}

// dropIdle closes all of p's idle connections (after one proved stale,
// the others likely are too).
func (t *Transport) dropIdle(p *pool) {
	t.mu.Lock()
	idle := p.idle
	p.idle = nil
	t.mu.Unlock()
	for _, c := range idle {
		c.conn.Close()
	}
}

// CloseIdleConnections closes every idle connection; connections in use
// are closed when their answers end.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	var all []*pconn
	for _, p := range t.pools {
		all = append(all, p.idle...)
		p.idle = nil
	}
	t.mu.Unlock()
	for _, c := range all {
		c.conn.Close()
	}
	if f, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		f.CloseIdleConnections()
	}
}

// Close closes the idle connections and keeps new ones from being pooled.
func (t *Transport) Close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.CloseIdleConnections()
}

// exchange writes req on c and reads the head of the answer.
func (t *Transport) exchange(ctx context.Context, p *pool, c *pconn, req *http.Request, body []byte) (*http.Response, error) {
	// The context aborts blocked reads and writes through the deadline;
	// stop says whether it did (the connection is then unusable).
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.conn.Close()
		return nil, err
	}
	c.wrote = false
	if err := writeRequest(c.bw, req, body); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	c.wrote = true
	var resp *http.Response
	for informational := 0; ; informational++ {
		if informational > maxInformational {
			return fail(fmt.Errorf("more than %d informational (1xx) answers", maxInformational))
		}
		c.limit = maxAnswerHead
		var err error
		resp, err = readResponse(c.br, req)
		c.limit = -1
		if err != nil {
			return fail(err)
		}
		// 1xx answers (103 Early Hints) precede the real one; 101
		// would switch protocols, which was not asked for.
		if resp.StatusCode >= 200 || resp.StatusCode < 100 {
			break
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			return fail(errors.New("unexpected 101 Switching Protocols"))
		}
	}
	b := &respBody{t: t, p: p, c: c, ctx: ctx, stop: stop, r: resp.Body, keep: !resp.Close && !req.Close}
	if resp.Body == http.NoBody {
		b.release(true)
		return resp, nil
	}
	resp.Body = b
	return resp, nil
}

// respBody is an answer's body; at its end the connection goes back to
// the pool.
type respBody struct {
	t    *Transport
	p    *pool
	c    *pconn
	ctx  context.Context
	stop func() bool
	r    io.ReadCloser // the framing reader over c.br
	keep bool          // the connection may carry another request
	done bool          // the connection was released
	eof  bool
}

var errBodyClosed = errors.New("read on closed response body")

func (b *respBody) Read(p []byte) (int, error) {
	if b.done {
		if b.eof {
			return 0, io.EOF
		}
		return 0, errBodyClosed
	}
	n, err := b.r.Read(p)
	switch {
	case err == io.EOF:
		b.eof = true
		b.release(true)
	case err != nil:
		b.release(false)
		if b.ctx.Err() != nil {
			err = b.ctx.Err()
		}
	}
	return n, err
}

// Close releases the connection. The rest of the body is read and dropped
// so that the connection can be kept, when it has already arrived (say,
// a stream's final chunk after its last event): from the buffer, or from
// the socket when bytes wait there, allowing a moment for the rest of a
// frame. Otherwise the connection is closed, which also tells the server
// to stop (a stream whose client went away must not run on).
func (b *respBody) Close() error {
	if b.done {
		return nil
	}
	if !b.keep || b.c.br.Buffered() == 0 && !b.c.waiting() {
		b.release(false)
		return nil
	}
	b.c.conn.SetReadDeadline(time.Now().Add(drainWait))
	n, err := io.Copy(io.Discard, io.LimitReader(b.r, maxDrain))
	b.c.conn.SetReadDeadline(time.Time{})
	// (A deadline set by a cancellation in the meantime is caught by
	// release.)
	b.release(err == nil && n < maxDrain) // stopped at the body's end
	return nil
}

// How much of an unread body, and for how long, Close reads to keep the
// connection.
const (
	maxDrain  = 64 << 10
	drainWait = 2 * time.Millisecond
)

// release returns the connection to the pool if reuse allows it and the
// context did not abort it, and closes it otherwise.
func (b *respBody) release(reuse bool) {
	b.done = true
	if !b.stop() {
		reuse = false // the context fired: the deadline is in the past
	}
	if reuse && b.keep && b.c.br.Buffered() == 0 {
		b.t.put(b.p, b.c)
		return
	}
	b.c.conn.Close()
}

// writeRequest writes req's head and body to w.
func writeRequest(w *bufio.Writer, req *http.Request, body []byte) error {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !validToken(method) {
		return fmt.Errorf("invalid method %q", method)
	}
	uri := req.URL.RequestURI()
	if strings.ContainsAny(uri, " \r\n") {
		return fmt.Errorf("invalid request URI %q", uri)
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !validValue(host) {
		return fmt.Errorf("invalid host %q", host)
	}
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(uri)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	for k, vs := range req.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Content-Length", "Transfer-Encoding", "Connection":
			continue // set here
		}
		if !validToken(k) {
			return fmt.Errorf("invalid header name %q", k)
		}
		for _, v := range vs {
			if !validValue(v) {
				return fmt.Errorf("invalid value for header %s", k)
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	if body != nil || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
		w.WriteString("\r\n")
	}
	w.WriteString("\r\n")
	_, err := w.Write(body)
	return err
}
