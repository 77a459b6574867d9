package http1

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"sov.dev/sov/internal/openai"
)

// requestError is a request the server refuses before any handler sees it.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// serveOne reads one request, runs the handler and finishes the answer. It
// reports whether the connection may carry another request.
func (c *conn) serveOne(base context.Context) bool {
	s := c.srv
	start := time.Now()
	skipEmptyLines(c.br)
	// The head must arrive within ReadHeaderTimeout of its first byte;
	// when all of it is already here, no deadline is needed.
	buffered, _ := c.br.Peek(c.br.Buffered())
	headDeadline := headEnd(buffered) == 0
	if headDeadline {
		c.setReadDeadline(start.Add(s.ReadHeaderTimeout), false)
	}
	// The head may be MaxHeaderBytes plus slack, as with net/http; what is
	// buffered already counts.
	c.rd.limit = max(0, c.maxHead()-int64(c.br.Buffered()))
	var head http.Request // copied once, with its context, below
	rerr := c.readRequest(&head)
	c.rd.limit = -1
	if rerr != nil {
		var re *requestError
		if !errors.As(rerr, &re) {
			return false // the connection broke or timed out
		}
		c.refuse(re)
		return false
	}
	b, _ := head.Body.(*body)
	switch waiting := b != nil && !b.buffered(); {
	case waiting && s.ReadTimeout > 0:
		// The body must arrive within ReadTimeout of the request's start.
		c.setReadDeadline(start.Add(s.ReadTimeout), false)
	case waiting || headDeadline:
		// No limit on the body (without ReadTimeout), and the head's
		// deadline no longer applies.
		c.setReadDeadline(time.Time{}, false)
	}

	ctx, cancel := context.WithCancel(base)
	defer cancel()
	req := head.WithContext(ctx)
	w := &response{c: c, req: req, header: make(http.Header), contentLength: -1, cancel: cancel, body: b}
	if b != nil {
		b.w = w
		b.onEOF = func() { c.srv.watch.add(c, cancel) }
	} else {
		c.srv.watch.add(c, cancel)
	}
	w.closeAfter = req.Close

	if !c.runHandler(w, req) {
		// The handler panicked: what it wrote is sent as it is, without
		// an ending, and the connection is closed, so the client sees an
		// answer cut off, never a complete-looking one.
		c.srv.watch.remove(c)
		c.bw.Flush()
		return false
	}
	w.finish()
	c.srv.watch.remove(c)
	if b != nil && !b.eof {
		// What the handler left unread is discarded if it is small and
		// has arrived; otherwise the connection cannot be reused.
		if !b.discard() {
			w.closeAfter = true
			c.linger = true
		}
	}
	return !w.closeAfter
}

// runHandler calls the handler and reports whether it returned; a panic
// is logged (http.ErrAbortHandler silently) and ends the connection.
func (c *conn) runHandler(w *response, req *http.Request) (returned bool) {
	defer func() {
		if v := recover(); v != nil {
			returned = false
			w.closeAfter = true
			c.broken = true
			if v != http.ErrAbortHandler {
				c.srv.Log.Error("panic serving request", "remote", c.remote, "path", req.URL.Path,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			}
		}
	}()
	c.srv.Handler.ServeHTTP(w, req)
	return true
}

// readRequest parses a request head into req and sets up its body.
// Errors that are the client's are *requestError.
func (c *conn) readRequest(req *http.Request) error {
	var line string
	var hdr http.Header
	head, whole, err := bufferedHead(c.br)
	switch {
	case err != nil:
		return c.headError(err)
	case whole && int64(len(head)) > c.maxHead():
		return &requestError{http.StatusRequestHeaderFieldsTooLarge, "the request head is larger than this server accepts"}
	case whole:
		line, hdr, err = parseHead(head)
		c.br.Discard(len(head))
		if err != nil {
			return badRequest("malformed request head")
		}
	default:
		// A head larger than the buffer: gathered line by line (bounded
		// by the reader's limit), then parsed by the same rules.
		if head, err = readLongHead(c.br); err != nil {
			return c.headError(err)
		}
		if line, hdr, err = parseHead(head); err != nil {
			return badRequest("malformed request head")
		}
	}
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return badRequest("malformed request line %q", truncate(line))
	}
	if !validToken(method) {
		return badRequest("invalid method %q", truncate(method))
	}
	major, minor, ok := http.ParseHTTPVersion(proto)
	if !ok {
		return badRequest("malformed HTTP version %q", truncate(proto))
	}
	if major != 1 {
		return &requestError{http.StatusHTTPVersionNotSupported, "only HTTP/1.x is served here"}
	}
	*req = http.Request{
		Method:     method,
		Proto:      proto,
		ProtoMajor: major,
		ProtoMinor: minor,
		RequestURI: target,
		RemoteAddr: c.remote,
	}
	if method == http.MethodConnect || target == "*" && method != http.MethodOptions {
		return badRequest("request target %q not served", truncate(target))
	}
	if target == "*" {
		req.URL = &url.URL{Path: "*"}
	} else if req.URL, err = parseTarget(target); err != nil {
		return badRequest("malformed request target %q", truncate(target))
	}
	req.Header = hdr

	// Host: exactly one for HTTP/1.1 (RFC 9112, 3.2).
	hosts := req.Header["Host"]
	switch {
	case len(hosts) > 1:
		return badRequest("more than one Host header")
	case len(hosts) == 0 && minor >= 1:
		return badRequest("missing Host header")
	}
	if len(hosts) == 1 && !validHost(hosts[0]) {
		return badRequest("malformed Host header")
	}
	req.Host = req.URL.Host
	if req.Host == "" && len(hosts) == 1 {
		req.Host = hosts[0]
	}
	delete(req.Header, "Host")

	// Connection persistence (RFC 9112, 9.3).
	conn := req.Header["Connection"]
	if minor == 0 {
		req.Close = !headerHasToken(conn, "keep-alive")
	} else {
		req.Close = headerHasToken(conn, "close")
	}

	if err := c.setBody(req); err != nil {
		return err
	}
	if c.tls != nil {
		st := c.tls.ConnectionState()
		req.TLS = &st
	}
	return nil
}

// maxHead is the most bytes a request head may have.
func (c *conn) maxHead() int64 { return int64(c.srv.MaxHeaderBytes) + 4096 }

// headError classifies an error met while reading a request head.
func (c *conn) headError(err error) error {
	if errors.Is(err, errHeaderTooLarge) {
		return &requestError{http.StatusRequestHeaderFieldsTooLarge, "the request head is larger than this server accepts"}
	}
	return err // connection closed, reset or timed out
}

// setBody sets req's Body, ContentLength and TransferEncoding from its
// framing headers (RFC 9112, 6).
func (c *conn) setBody(req *http.Request) error {
	te := req.Header["Transfer-Encoding"]
	cl := req.Header["Content-Length"]
	if len(te) > 0 {
		if len(cl) > 0 {
			// Both: a smuggling attempt or a broken client.
			return badRequest("both Transfer-Encoding and Content-Length")
		}
		if req.ProtoMinor == 0 {
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		}
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			return &requestError{http.StatusNotImplemented, "unsupported Transfer-Encoding " + truncate(strings.Join(te, ", "))}
		}
		req.TransferEncoding = []string{"chunked"}
		req.ContentLength = -1
		delete(req.Header, "Transfer-Encoding")
		req.Body = &body{c: c, r: httputil.NewChunkedReader(c.br), chunked: true, remaining: -1}
	} else if len(cl) > 0 {
		n, err := parseContentLength(cl)
		if err != nil {
			return err
		}
		req.ContentLength = n
		if n == 0 {
			req.Body = http.NoBody
		} else {
			req.Body = &body{c: c, remaining: n}
		}
	} else {
		req.Body = http.NoBody
	}
	if req.Body != http.NoBody {
		if ex := req.Header["Expect"]; len(ex) > 0 {
			if len(ex) != 1 || !strings.EqualFold(ex[0], "100-continue") {
				return &requestError{http.StatusExpectationFailed, "unsupported Expect " + truncate(strings.Join(ex, ", "))}
			}
			if req.ProtoMinor >= 1 {
				req.Body.(*body).expectContinue = true
			}
		}
	}
	return nil
}

// parseContentLength accepts one value, or repeats of one value.
func parseContentLength(vs []string) (int64, error) {
	first := strings.TrimSpace(vs[0])
	for _, v := range vs[1:] {
		if strings.TrimSpace(v) != first {
			return 0, badRequest("conflicting Content-Length values")
		}
	}
	if first == "" || len(first) > 18 || strings.TrimLeft(first, "0123456789") != "" {
		return 0, badRequest("invalid Content-Length %q", truncate(first))
	}
	n, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, badRequest("invalid Content-Length %q", truncate(first))
	}
	return n, nil
}

// headerHasToken reports whether a comma-separated header has token.
func headerHasToken(vs []string, token string) bool {
	for _, v := range vs {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// body is a request body: Content-Length bytes, or chunked.
type body struct {
	c              *conn
	w              *response // for 100 Continue
	r              io.Reader // the chunked decoder; nil for Content-Length
	chunked        bool
	remaining      int64 // bytes left of a Content-Length body
	expectContinue bool  // 100 Continue is owed before the first read
	eof            bool
	err            error
	onEOF          func()
}

// buffered reports whether the whole body has already arrived.
func (b *body) buffered() bool {
	return !b.chunked && int64(b.c.br.Buffered()) >= b.remaining
}

func (b *body) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.expectContinue {
		b.expectContinue = false
		if !b.w.headWritten {
			b.w.armWriteDeadline()
			b.c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
			if err := b.c.bw.Flush(); err != nil {
				b.err = err
				return 0, err
			}
		}
	}
	var n int
	var err error
	if b.chunked {
		n, err = b.r.Read(p)
		if err == io.EOF {
			err = b.readTrailer()
			if err == nil {
				err = io.EOF
			}
		}
	} else {
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.c.br.Read(p)
		b.remaining -= int64(n)
		if b.remaining == 0 {
			err = io.EOF // with the last bytes, as net/http does
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	if err == io.EOF {
		b.eof = true
		if b.onEOF != nil {
			b.onEOF()
		}
	} else if err != nil {
		b.err = err
	}
	return n, err
}

// readTrailer reads the trailer section after the last chunk and drops
// it.
func (b *body) readTrailer() error {
	b.c.rd.limit = b.c.maxHead()
	defer func() { b.c.rd.limit = -1 }()
	tp := textproto.NewReader(b.c.br)
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return fmt.Errorf("reading the chunked body's trailer: %w", err)
		}
		if line == "" {
			return nil
		}
	}
}

func (b *body) Close() error { return nil }

// maxDiscard is the most unread request body the server reads and drops
// to keep a connection.
const maxDiscard = 256 << 10

// discard reads what the handler left of the body, if that is little and
// comes at once, and reports whether the connection is still in step.
func (b *body) discard() bool {
	if b.err != nil || b.expectContinue {
		return false // nothing was asked for; the client may not send it
	}
	if !b.chunked && b.remaining > maxDiscard {
		return false
	}
	b.onEOF = nil
	n, err := io.Copy(io.Discard, io.LimitReader(b, maxDiscard+1))
	return err == nil && n <= maxDiscard && b.eof
}

// refuse answers a request the server could not accept, in OpenAI's error
// shape, and the connection is then closed.
func (c *conn) refuse(e *requestError) {
	ae := openai.InvalidRequest("", "%s", e.msg)
	if e.status >= 500 {
		ae = openai.ServerError(e.msg)
	}
	body, _ := json.Marshal(openai.ErrorBody{Error: ae}) // strings only: cannot fail
	c.setWriteDeadline(time.Now().Add(c.srv.ReadHeaderTimeout), false)
	c.linger = true // a body may be on its way
	bw := c.bw
	bw.WriteString("HTTP/1.1 " + strconv.Itoa(e.status) + " " + http.StatusText(e.status) + "\r\n")
	bw.WriteString("Content-Type: application/json\r\nConnection: close\r\nDate: " + httpDate() + "\r\n")
	bw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	bw.Write(body)
	bw.Flush()
}
