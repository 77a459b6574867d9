// Package http1 is sov's HTTP/1.1 server and client transport, made for the
// gateway's latency: each does a request's work on one goroutine, where
// net/http hands it between several.
//
// The Server serves any http.Handler. Per request, net/http's server starts
// a goroutine that reads the connection in the background (to notice a
// client that goes away) and re-arms read deadlines; on a small machine
// those wake-ups cost more than the rest of the gateway's work. This server
// reads each request on the connection's goroutine, arms deadlines only
// when a request is not already in its buffer, and watches for vanished
// clients only for requests that run longer than a moment (Server.
// DisconnectAfter), from one shared ticker.
//
// What it speaks: HTTP/1.1 and 1.0 with keep-alive, pipelined requests
// (answered in order), Content-Length and chunked request bodies,
// Expect: 100-continue, chunked or length-framed responses, HEAD, TLS
// (http/1.1 by ALPN). Not HTTP/2, not protocol upgrades. Requests it
// cannot parse get a JSON error answer in OpenAI's shape, and the
// connection is closed.
//
// The Transport (transport.go) is the client half, used for upstream
// servers.
package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for zero fields of Server.
const (
	DefaultMaxHeaderBytes    = 1 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultDisconnectAfter   = 50 * time.Millisecond
)

// ErrServerClosed is returned by Serve after Shutdown or Close.
var ErrServerClosed = errors.New("http1: server closed")

// Server serves HTTP/1.1 on the connections of a listener.
type Server struct {
	// Handler answers requests.
	Handler http.Handler
	// TLSConfig, when set, makes every connection TLS. NextProtos is set
	// to http/1.1.
	TLSConfig *tls.Config
	// MaxHeaderBytes bounds the request line and header fields.
	MaxHeaderBytes int
	// ReadHeaderTimeout is how long a request's head may take to arrive
	// once it has begun (and the TLS handshake on a new connection).
	ReadHeaderTimeout time.Duration
	// ReadTimeout, when positive, bounds reading a whole request, body
	// included.
	ReadTimeout time.Duration
	// IdleTimeout is how long a kept-alive connection waits for its next
	// request.
	IdleTimeout time.Duration
	// WriteTimeout, when positive, bounds writing an answer whose handler
	// set no write deadline of its own (http.ResponseController), so that
	// a client that stops reading cannot hold a connection forever.
	WriteTimeout time.Duration
	// DisconnectAfter is how long a request runs before the server starts
	// watching its connection, so that a client that goes away cancels
	// the request's context. Shorter requests are not watched.
	DisconnectAfter time.Duration
	// BaseContext returns the context requests derive from; nil means
	// context.Background.
	BaseContext func(net.Listener) context.Context
	// Log receives connection-level errors and handler panics; nil
	// discards them.
	Log *slog.Logger

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*conn]struct{}
	shutdown atomic.Bool
	watch    watcher
}

func (s *Server) init() {
	if s.MaxHeaderBytes <= 0 {
		s.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if s.ReadHeaderTimeout <= 0 {
		s.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = DefaultIdleTimeout
	}
	if s.DisconnectAfter <= 0 {
		s.DisconnectAfter = DefaultDisconnectAfter
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.watch.every = s.DisconnectAfter
}

// Serve accepts connections on ln and serves them until Shutdown or Close,
// and then returns ErrServerClosed. It closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.shutdown.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.ln = ln
	s.conns = make(map[*conn]struct{})
	s.mu.Unlock()
	defer ln.Close()

	base := context.Background()
	if s.BaseContext != nil {
		base = s.BaseContext(ln)
	}
	var tlsConfig *tls.Config
	if s.TLSConfig != nil {
		tlsConfig = s.TLSConfig.Clone()
		tlsConfig.NextProtos = []string{"http/1.1"}
	}
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutdown.Load() {
				return ErrServerClosed
			}
			if temporaryAcceptError(err) {
				// Out of descriptors or memory, or a passing error: wait
				// and retry, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.Log.Warn("accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := s.newConn(nc, tlsConfig)
		if c == nil {
			continue // shutting down
		}
		go c.serve(base)
	}
}

// temporaryAcceptError reports whether Accept may succeed if tried again.
func temporaryAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Server) newConn(nc net.Conn, tlsConfig *tls.Config) *conn {
	c := &conn{srv: s, raw: nc, nc: nc, remote: nc.RemoteAddr().String()}
	if tlsConfig != nil {
		c.tls = tls.Server(nc, tlsConfig)
		c.nc = c.tls
	}
	c.rd = connReader{c: c, limit: -1}
	c.br = bufio.NewReaderSize(&c.rd, 4<<10)
	c.bw = bufio.NewWriterSize(c.nc, 4<<10)
	// Idle until its first request begins (a TLS handshake included), so
	// that Shutdown does not wait for a client that sends nothing.
	c.state.Store(stateIdle)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown.Load() {
		nc.Close()
		return nil
	}
	s.conns[c] = struct{}{}
	return c
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting connections, closes idle ones, and waits until
// the requests in flight have been answered (or ctx ends, when it returns
// ctx's error and leaves them running; Close ends them).
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginShutdown()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if s.closeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.beginShutdown()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.raw.Close()
	}
	return nil
}

func (s *Server) beginShutdown() {
	s.mu.Lock()
	s.shutdown.Store(true)
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
}

// closeIdle closes the connections waiting for a request and returns how
// many connections remain.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.Load() == stateIdle {
			c.raw.Close()
		}
	}
	return len(s.conns)
}

// Connection states, for Shutdown.
const (
	stateActive = iota // reading a request or running its handler
	stateIdle          // waiting for a request
)

// conn is one client connection.
type conn struct {
	srv    *Server
	raw    net.Conn // the accepted connection
	nc     net.Conn // raw, or TLS over it
	tls    *tls.Conn
	remote string
	rd     connReader
	br     *bufio.Reader
	bw     *bufio.Writer
	state  atomic.Int32

	readDeadline  time.Time // as last set
	writeDeadline time.Time
	broken        bool // a write failed: close after this request
	linger        bool // the client may still be sending: close gently

	// The disconnect watch (watch.go).
	watchMu    sync.Mutex
	watchDone  chan struct{} // non-nil while a background read runs
	watchStop  bool          // the background read was asked to end
	cancel     context.CancelFunc
	since      time.Time // when the request became watchable
	prev, next *conn     // in the watcher's list
	listed     bool
}

// connReader reads the connection for the bufio.Reader: it enforces the
// header size limit and returns a byte a background read took first.
type connReader struct {
	c       *conn
	limit   int64 // bytes allowed before the head is complete; <0: none
	pending []byte
}

func (r *connReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	if r.limit >= 0 {
		if r.limit == 0 {
			return 0, errHeaderTooLarge
		}
		if int64(len(p)) > r.limit {
			p = p[:r.limit]
		}
	}
	n, err := r.c.nc.Read(p)
	if r.limit >= 0 {
		r.limit -= int64(n)
	}
	return n, err
}

var errHeaderTooLarge = errors.New("request head too large")

// setReadDeadline arms the read deadline. With coarse, a deadline later
// than the one already armed by less than 1/64 of the time that one has
// left is not armed: the connection may then time out that much early,
// and a deadline renewed for every request costs no timer update.
func (c *conn) setReadDeadline(t time.Time, coarse bool) {
	if coarse && closeEnough(c.readDeadline, t) {
		return
	}
	c.readDeadline = t
	c.nc.SetReadDeadline(t)
}

// setWriteDeadline is setReadDeadline's twin for writes.
func (c *conn) setWriteDeadline(t time.Time, coarse bool) error {
	if coarse && closeEnough(c.writeDeadline, t) {
		return nil
	}
	c.writeDeadline = t
	return c.nc.SetWriteDeadline(t)
}

// closeEnough reports whether deadline armed may stand in for want.
func closeEnough(armed, want time.Time) bool {
	if armed.IsZero() || want.Before(armed) {
		return false
	}
	return want.Sub(armed) <= time.Until(armed)/64
}

// close ends the connection. When the client may still be sending (an
// unread request body), the write side is shut first and what arrives is
// read and dropped for a moment: closing a socket with unread data makes
// the kernel reset the connection, and the client would lose the answer
// it has not read yet (net/http does the same).
func (c *conn) close() {
	c.bw.Flush()
	if c.linger {
		if cw, ok := c.raw.(interface{ CloseWrite() error }); ok {
			if c.tls != nil {
				c.tls.CloseWrite() // close_notify; the TCP side is shut below
			}
			cw.CloseWrite()
			c.raw.SetReadDeadline(time.Now().Add(lingerTime))
			io.Copy(io.Discard, io.LimitReader(c.raw, maxLinger))
		}
	}
	c.nc.Close()
	c.srv.forget(c)
}

// How long, and how much, close reads from a client still sending.
const (
	lingerTime = 500 * time.Millisecond
	maxLinger  = 8 << 20
)

// serve reads and answers requests until the connection ends.
func (c *conn) serve(base context.Context) {
	s := c.srv
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			s.Log.Error("panic serving a connection", "remote", c.remote, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
		c.close()
	}()
	c.setReadDeadline(time.Now().Add(s.ReadHeaderTimeout), false)
	if c.tls != nil {
		c.nc.SetWriteDeadline(time.Now().Add(s.ReadHeaderTimeout))
		if err := c.tls.HandshakeContext(base); err != nil {
			s.Log.Debug("TLS handshake failed", "remote", c.remote, "err", err)
			return
		}
		c.nc.SetWriteDeadline(time.Time{})
	}
	for first := true; ; first = false {
		c.state.Store(stateIdle)
		if !first {
			if s.shutdown.Load() {
				return
			}
			c.setReadDeadline(time.Now().Add(s.IdleTimeout), true)
		}
		if _, err := c.br.Peek(1); err != nil {
			return // closed, idle timeout or shutdown
		}
		c.state.Store(stateActive)
		if !c.keep(c.serveOne(base)) {
			return
		}
	}
}

// keep reports whether the connection may carry another request.
func (c *conn) keep(keepAlive bool) bool {
	return keepAlive && !c.broken && !c.srv.shutdown.Load()
}
