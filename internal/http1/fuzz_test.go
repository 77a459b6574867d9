package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// fakeConn is a net.Conn over a byte slice, for parsing without a socket.
type fakeConn struct {
	net.Conn
	r io.Reader
}

func (f fakeConn) Read(p []byte) (int, error)       { return f.r.Read(p) }
func (f fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (f fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f fakeConn) SetWriteDeadline(time.Time) error { return nil }
func (f fakeConn) Close() error                     { return nil }

// FuzzReadRequest: any bytes give a request whose body reads to an end,
// or an error; never a panic. A request parsed by the fast path reads the
// same as net/http's parser reads it, where net/http accepts it too.
func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nAuthorization: Bearer x\r\n\r\nhello"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nT: 1\r\n\r\n"))
	f.Add([]byte("GET /?a=b HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n"))
	f.Add([]byte("GET http://h/x HTTP/1.1\r\nHost: h\r\nX: a\r\nX: b\r\n\r\n"))
	f.Add([]byte("POST /p HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("p", 5000) + "\r\nContent-Length: 2\r\n\r\nhi"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Server{MaxHeaderBytes: 4096}
		s.init()
		nc := fakeConn{r: bytes.NewReader(data)}
		c := &conn{srv: s, raw: nc, nc: nc}
		c.rd = connReader{c: c, limit: -1}
		c.br = bufio.NewReaderSize(&c.rd, 4<<10)
		c.bw = bufio.NewWriter(io.Discard)
		c.rd.limit = c.maxHead()
		req := new(http.Request)
		err := c.readRequest(req)
		c.rd.limit = -1
		if err != nil {
			return
		}
		if b, ok := req.Body.(*body); ok {
			b.w = &response{c: c, req: req, header: http.Header{}, contentLength: -1, cancel: func() {}}
		}
		got, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err != nil {
			return
		}
		want, werr := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if werr != nil {
			return
		}
		wbody, werr := io.ReadAll(io.LimitReader(want.Body, 1<<20))
		if werr != nil {
			return
		}
		if req.Method != want.Method || req.URL.String() != want.URL.String() || req.Host != want.Host ||
			!bytes.Equal(got, wbody) || req.Close != want.Close {
			t.Errorf("parsed %s %s host %q close %v body %q; net/http: %s %s host %q close %v body %q",
				req.Method, req.URL, req.Host, req.Close, got, want.Method, want.URL, want.Host, want.Close, wbody)
		}
		for k, v := range want.Header {
			if k == "Host" || k == "Content-Length" || k == "Transfer-Encoding" {
				continue
			}
			if strings.Join(req.Header[k], "\x00") != strings.Join(v, "\x00") {
				t.Errorf("header %s: %q, net/http %q", k, req.Header[k], v)
			}
		}
	})
}

// FuzzReadResponse: any answer bytes give a response or an error, and a
// body that ends; never a panic.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 204 No Content\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, _ := http.NewRequest(http.MethodPost, "http://h/", nil)
		resp, err := readResponse(bufio.NewReaderSize(bytes.NewReader(data), 4<<10), req)
		if err != nil {
			return
		}
		if _, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
	})
}
