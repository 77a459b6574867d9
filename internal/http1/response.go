package http1

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// response is the http.ResponseWriter of one request. The body is
// gathered in buf and leaves as one piece (one chunk, when chunked) at each
// Flush, when buf fills, and at the end; the framing is chosen when the
// head is written: the handler's Content-Length, else the length of the
// whole body when the handler has returned by then, else chunked (HTTP/1.0:
// until the connection closes).
type response struct {
	c      *conn
	req    *http.Request
	header http.Header

	status        int
	wroteHeader   bool // the status is fixed
	headWritten   bool // the head is in c.bw
	chunked       bool
	contentLength int64 // -1: none declared
	written       int64 // body bytes accepted
	bodyAllowed   bool
	closeAfter    bool // the connection ends after this answer
	done          bool // the handler returned
	deadlineSet   bool // the handler set a write deadline
	buf           []byte
	err           error       // a write to the connection failed
	cancel        func()      // cancels the request's context
	body          *body       // the request's, if it has one
	snap          http.Header // the header as it was at WriteHeader, when the head is written later
	sniff         []byte      // the first write, for Content-Type, when it skipped buf
}

const flushSize = 4 << 10

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
)

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic("http1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if w.wroteHeader {
		w.c.srv.Log.Debug("superfluous WriteHeader call", "path", w.req.URL.Path, "code", code)
		return
	}
	if code < 200 {
		if code == http.StatusSwitchingProtocols {
			panic("http1: protocol switches are not supported")
		}
		// Informational: sent at once, with the headers set so far.
		w.armWriteDeadline()
		w.c.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
		writeHeaderFields(w.c.bw, w.header)
		w.c.bw.WriteString("\r\n")
		w.setErr(w.c.bw.Flush())
		return
	}
	w.wroteHeader = true
	w.status = code
	w.bodyAllowed = code != http.StatusNoContent && code != http.StatusNotModified && w.req.Method != http.MethodHead
	// The framing is the server's to choose.
	delete(w.header, "Transfer-Encoding")
	if code == http.StatusNoContent {
		delete(w.header, "Content-Length")
	}
	if v := w.header["Content-Length"]; len(v) == 1 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		} else {
			delete(w.header, "Content-Length")
		}
	} else if len(v) > 1 {
		delete(w.header, "Content-Length")
	}
	// Changes to the header after WriteHeader have no effect (as with
	// net/http): the head is written now when its framing is known, and
	// otherwise from a copy.
	_, typed := w.header["Content-Type"]
	if w.contentLength >= 0 && (typed || !w.bodyAllowed) || code == http.StatusNoContent || code == http.StatusNotModified {
		w.writeHead()
	} else {
		w.snap = w.header.Clone() // the head waits for the first write (framing, sniffing)
	}
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !w.bodyAllowed {
		if w.req.Method == http.MethodHead {
			// Counted for the Content-Length, then dropped.
			w.written += int64(len(p))
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.contentLength >= 0 && w.written+int64(len(p)) > w.contentLength {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.headWritten && !w.chunked {
		// Length-framed or close-delimited: straight to the connection's
		// buffer.
		_, err := w.c.bw.Write(p)
		w.setErr(err)
		return len(p), w.err
	}
	if len(w.buf)+len(p) > flushSize {
		if !w.headWritten && len(w.buf) == 0 {
			w.sniff = p
		}
		w.flushBody()
		w.sniff = nil
		if w.err != nil {
			return 0, w.err
		}
		if !w.chunked {
			_, err := w.c.bw.Write(p)
			w.setErr(err)
			return len(p), w.err
		}
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// Flush sends the head and what has been written.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush reporting a failed write (http.ResponseController
// uses it).
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.flushBody()
	if w.err == nil {
		w.setErr(w.c.bw.Flush())
	}
	return w.err
}

// SetWriteDeadline bounds the writes that follow (http.ResponseController
// uses it). A deadline less than a second later than the one in force
// leaves that one in force.
func (w *response) SetWriteDeadline(t time.Time) error {
	w.deadlineSet = true
	return w.c.setWriteDeadline(t, true)
}

// armWriteDeadline readies the connection's write deadline for this
// answer when its handler set none: the server's WriteTimeout, or none. A
// deadline an earlier request's handler set (and that is left in place,
// so that the next one that sets one costs no timer update) never applies
// here.
func (w *response) armWriteDeadline() {
	switch {
	case w.deadlineSet:
	case w.c.srv.WriteTimeout > 0:
		w.c.setWriteDeadline(time.Now().Add(w.c.srv.WriteTimeout), true)
	case !w.c.writeDeadline.IsZero():
		w.c.setWriteDeadline(time.Time{}, false)
	}
}

// SetReadDeadline bounds the reads of the request body that follow.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.setReadDeadline(t, false)
	return nil
}

// EnableFullDuplex allows reading the body after writing the answer, which
// this server always allows.
func (w *response) EnableFullDuplex() error { return nil }

// setErr records a failed write: the client is gone (or stuck past a
// deadline), so the request's context is canceled as well.
func (w *response) setErr(err error) {
	if err != nil && w.err == nil {
		w.err = err
		w.c.broken = true
		w.cancel()
	}
}

// flushBody writes the head if it is not written yet, and buf as a chunk
// (or as it is), into the connection's buffer.
func (w *response) flushBody() {
	if w.err != nil {
		return
	}
	if !w.headWritten {
		w.writeHead()
	}
	if len(w.buf) == 0 {
		return
	}
	bw := w.c.bw
	if w.chunked {
		bw.WriteString(strconv.FormatInt(int64(len(w.buf)), 16))
		bw.WriteString("\r\n")
		bw.Write(w.buf)
		_, err := bw.WriteString("\r\n")
		w.setErr(err)
	} else {
		_, err := bw.Write(w.buf)
		w.setErr(err)
	}
	w.buf = w.buf[:0]
}

// writeHead writes the status line and header fields, choosing the
// framing.
func (w *response) writeHead() {
	w.headWritten = true
	w.armWriteDeadline()
	h := w.header
	if w.snap != nil {
		h = w.snap
	}
	if b := w.body; b != nil && !b.eof && (b.chunked || b.remaining > maxDiscard) {
		// The handler answers without reading a large body: the
		// connection cannot carry another request, so say so.
		w.closeAfter = true
		w.c.linger = true
	}
	if w.req.ProtoMinor == 0 && !w.req.Close && !headerHasToken(h["Connection"], "close") {
		if w.contentLength >= 0 || w.done || !w.bodyAllowed {
			h["Connection"] = keepAlive
		} else {
			w.closeAfter = true
		}
	}
	switch {
	case !w.bodyAllowed:
		// No body: a declared length stands (HEAD), and a HEAD answer
		// whose handler wrote the body whole gets its length.
		if w.req.Method == http.MethodHead && w.contentLength < 0 && w.done && w.written > 0 {
			h["Content-Length"] = []string{strconv.FormatInt(w.written, 10)}
		}
	case w.contentLength >= 0:
	case w.done:
		w.contentLength = w.written
		h["Content-Length"] = []string{strconv.FormatInt(w.written, 10)}
	case w.req.ProtoMinor >= 1:
		w.chunked = true
		delete(h, "Content-Length")
		h["Transfer-Encoding"] = chunkedValue
	default:
		w.closeAfter = true
	}
	if w.bodyAllowed {
		if _, ok := h["Content-Type"]; !ok && w.written > 0 {
			data := w.buf
			if len(data) == 0 {
				data = w.sniff
			}
			h["Content-Type"] = []string{http.DetectContentType(data)}
		}
	}
	if v, ok := h["Connection"]; ok && headerHasToken(v, "close") {
		w.closeAfter = true
	}
	if w.closeAfter || w.c.srv.shutdown.Load() {
		w.closeAfter = true
		h["Connection"] = closeValue
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = []string{httpDate()}
	}
	bw := w.c.bw
	bw.WriteString("HTTP/1.1 ")
	bw.WriteString(strconv.Itoa(w.status))
	bw.WriteByte(' ')
	if t := http.StatusText(w.status); t != "" {
		bw.WriteString(t)
	} else {
		bw.WriteString("status code " + strconv.Itoa(w.status))
	}
	bw.WriteString("\r\n")
	writeHeaderFields(bw, h)
	_, err := bw.WriteString("\r\n")
	w.setErr(err)
}

var (
	keepAlive    = []string{"keep-alive"}
	closeValue   = []string{"close"}
	chunkedValue = []string{"chunked"}
)

// headerNewline replaces line breaks in field values, which would end the
// field early (net/http does the same).
var headerNewline = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")

// writeHeaderFields writes h's fields, leaving out invalid names.
func writeHeaderFields(bw *bufio.Writer, h http.Header) {
	for k, vs := range h {
		if !validToken(k) {
			continue
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") {
				v = headerNewline.Replace(v)
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(strings.TrimSpace(v))
			bw.WriteString("\r\n")
		}
	}
}

// finish completes the answer after the handler returned.
func (w *response) finish() {
	w.done = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.flushBody()
	if w.chunked && w.err == nil {
		w.c.bw.WriteString("0\r\n\r\n")
	}
	if w.err == nil {
		w.setErr(w.c.bw.Flush())
	}
	if w.bodyAllowed && w.contentLength >= 0 && w.written < w.contentLength {
		// Fewer bytes than announced: the client would wait for the
		// rest. Only closing tells it.
		w.closeAfter = true
	}
	if w.err != nil {
		w.closeAfter = true
	}
}

// httpDate returns the Date header value for now, formatted once a second.
func httpDate() string {
	now := time.Now()
	sec := now.Unix()
	if d := dateCache.Load(); d != nil && d.sec == sec {
		return d.s
	}
	d := &cachedDate{sec: sec, s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}

type cachedDate struct {
	sec int64
	s   string
}

var dateCache atomic.Pointer[cachedDate]
