package http1

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve runs s on a loopback listener until the test ends and returns the
// address.
func serve(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// echo answers with the method, path, query, body and a few headers.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "host": r.Host,
		"body": string(body), "te": r.TransferEncoding, "length": r.ContentLength,
		"type": r.Header.Get("Content-Type"), "remote": r.RemoteAddr,
	})
})

type echoed struct {
	Method, Path, Query, Host, Body, Type, Remote string
	TE                                            []string
	Length                                        int64
}

func decodeEcho(t *testing.T, resp *http.Response) echoed {
	t.Helper()
	defer resp.Body.Close()
	var e echoed
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("decoding the echo: %v", err)
	}
	return e
}

func TestServerRequests(t *testing.T) {
	addr := serve(t, &Server{Handler: echo})
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()

	resp, err := c.Post("http://"+addr+"/v1/chat?x=1&y=%20", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.ContentLength <= 0 || resp.Header.Get("Date") == "" {
		t.Errorf("status %d, length %d, date %q: want 200, a length for a small answer, a Date",
			resp.StatusCode, resp.ContentLength, resp.Header.Get("Date"))
	}
	e := decodeEcho(t, resp)
	if e.Method != "POST" || e.Path != "/v1/chat" || e.Query != "x=1&y=%20" || e.Body != `{"a":1}` ||
		e.Type != "application/json" || e.Length != 7 || e.Host != addr {
		t.Errorf("echo %+v", e)
	}
	first := e.Remote

	// Kept alive: the same connection carries the next requests, among
	// them one with a chunked body.
	for i := range 3 {
		var body io.Reader = strings.NewReader("hello")
		if i == 1 {
			body = io.MultiReader(strings.NewReader("hel"), strings.NewReader("lo")) // no length: chunked
		}
		resp, err := c.Post("http://"+addr+"/again", "text/plain", body)
		if err != nil {
			t.Fatal(err)
		}
		e := decodeEcho(t, resp)
		if e.Body != "hello" || e.Remote != first {
			t.Errorf("request %d: body %q from %s; want hello over %s", i, e.Body, e.Remote, first)
		}
		if i == 1 && (len(e.TE) != 1 || e.TE[0] != "chunked" || e.Length != -1) {
			t.Errorf("chunked request: TE %v length %d", e.TE, e.Length)
		}
	}
}

// raw sends request bytes on a new connection and returns everything the
// server sent until it closed the connection or went quiet.
func raw(t *testing.T, addr, request string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	out, _ := io.ReadAll(conn)
	return string(out)
}

func TestServerRefusesMalformedRequests(t *testing.T) {
	addr := serve(t, &Server{Handler: echo, MaxHeaderBytes: 1024})
	for _, tc := range []struct {
		name, req string
		status    int
	}{
		{"garbage", "hello\r\n\r\n", 400},
		{"bad version", "GET / HTTP/x\r\nHost: a\r\n\r\n", 400},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
		{"no host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"smuggling", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"two lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
		{"negative length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -3\r\n\r\n", 400},
		{"gzip coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"control character", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n", 400},
		{"folded line", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n", 400},
		{"bad target", "GET nowhere HTTP/1.1\r\nHost: a\r\n\r\n", 400},
		{"expectation", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx", 417},
		{"head too large", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + strings.Repeat("a", 8000) + "\r\n\r\n", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := raw(t, addr, tc.req)
			want := fmt.Sprintf("HTTP/1.1 %d ", tc.status)
			if !strings.HasPrefix(out, want) {
				t.Fatalf("answer %.120q, want %q", out, want)
			}
			_, body, _ := strings.Cut(out, "\r\n\r\n")
			var e struct {
				Error struct{ Message, Type string }
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Message == "" {
				t.Errorf("body %q: want an OpenAI-shaped error", body)
			}
			if !strings.Contains(out, "Connection: close") {
				t.Errorf("no Connection: close in %q", out)
			}
		})
	}
}

func TestServerFraming(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "small") })
	mux.HandleFunc("/none", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 10000))) // more than the buffer: chunked
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345") // fewer than announced
	})
	addr := serve(t, &Server{Handler: mux})

	out := raw(t, addr, "GET /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "Content-Length: 5\r\n") || !strings.HasSuffix(out, "\r\n\r\nsmall") ||
		!strings.Contains(out, "Content-Type: text/plain; charset=utf-8") || !strings.Contains(out, "Connection: close") {
		t.Errorf("small answer: %q", out)
	}
	out = raw(t, addr, "HEAD /small HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.HasSuffix(out, "\r\n\r\n") || strings.Contains(out, "small") {
		t.Errorf("HEAD answer with a body: %q", out)
	}
	out = raw(t, addr, "GET /none HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 204 No Content\r\n") || strings.Contains(out, "Content-Length") || strings.Contains(out, "chunked") {
		t.Errorf("204 answer: %q", out)
	}
	out = raw(t, addr, "GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "Transfer-Encoding: chunked") || !strings.HasSuffix(out, "\r\n0\r\n\r\n") {
		t.Errorf("big answer not chunked: %.200q…", out)
	}
	// HTTP/1.0: no chunks; the end of the connection ends the body.
	out = raw(t, addr, "GET /big HTTP/1.0\r\n\r\n")
	if strings.Contains(out, "chunked") || !strings.Contains(out, "Connection: close") || !strings.HasSuffix(out, strings.Repeat("x", 100)) {
		t.Errorf("HTTP/1.0 answer: %.200q…", out)
	}
	// HTTP/1.0 with keep-alive and a known length stays open: a second
	// request on the connection is answered.
	out = raw(t, addr, "GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /small HTTP/1.0\r\n\r\n")
	if strings.Count(out, "HTTP/1.1 200 OK") != 2 || !strings.Contains(out, "Connection: keep-alive") {
		t.Errorf("HTTP/1.0 keep-alive: %q", out)
	}
	// Fewer bytes than announced: the connection is closed after them, so
	// the client is not left waiting.
	out = raw(t, addr, "GET /short HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasSuffix(out, "12345") {
		t.Errorf("short answer: %q", out)
	}
}

func TestServerPipelining(t *testing.T) {
	addr := serve(t, &Server{Handler: echo})
	out := raw(t, addr, "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nonePOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ntwoGET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	i1, i2, i3 := strings.Index(out, `"path":"/1"`), strings.Index(out, `"path":"/2"`), strings.Index(out, `"path":"/3"`)
	if i1 < 0 || i2 < i1 || i3 < i2 || !strings.Contains(out, `"body":"one"`) || !strings.Contains(out, `"body":"two"`) {
		t.Errorf("pipelined answers out of order or missing: %q", out)
	}
}

func TestServerExpectContinue(t *testing.T) {
	addr := serve(t, &Server{Handler: echo})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v; want 100 Continue before the body is sent", line, err)
	}
	br.ReadString('\n') // the blank line
	io.WriteString(conn, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := decodeEcho(t, resp); e.Body != "hello" {
		t.Errorf("body %q", e.Body)
	}
}

func TestServerStreams(t *testing.T) {
	step := make(chan struct{})
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			if err := http.NewResponseController(w).Flush(); err != nil {
				return
			}
			<-step
		}
	})})
	resp, err := http.Get("http://" + addr + "/s")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.TransferEncoding == nil || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("TransferEncoding %v", resp.TransferEncoding)
	}
	br := bufio.NewReader(resp.Body)
	for i := range 3 {
		// Each event arrives while the handler waits: it was flushed.
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q, %v", i, line, err)
		}
		br.ReadString('\n')
		step <- struct{}{}
	}
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after the events: %q, %v", rest, err)
	}
}

// TestServerDisconnect: a client that goes away cancels the context of its
// request, once the request has run for DisconnectAfter; a quick request's
// connection is not read behind its back (the next request is intact).
func TestServerDisconnect(t *testing.T) {
	canceled := make(chan time.Duration, 1)
	addr := serve(t, &Server{DisconnectAfter: 10 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quick" {
			io.WriteString(w, "ok")
			return
		}
		io.ReadAll(r.Body)
		start := time.Now()
		select {
		case <-r.Context().Done():
			canceled <- time.Since(start)
		case <-time.After(5 * time.Second):
			canceled <- -1
		}
	})})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "GET /quick HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	io.WriteString(conn, "POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi")
	time.Sleep(50 * time.Millisecond) // the server is watching by now
	conn.Close()
	if d := <-canceled; d < 0 {
		t.Fatal("the request's context was not canceled when the client left")
	}
}

func TestServerPanics(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	addr := serve(t, &Server{Log: newTestLog(&logs, &mu), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			io.WriteString(w, strings.Repeat("x", 5000)) // chunked, partly sent
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		panic("boom")
	})})
	out := raw(t, addr, "GET /boom HTTP/1.1\r\nHost: a\r\n\r\n")
	if out != "" {
		t.Errorf("a panic before any answer: got %q, want the connection closed", out)
	}
	out = raw(t, addr, "GET /abort HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.Contains(out, "Transfer-Encoding: chunked") || strings.HasSuffix(out, "0\r\n\r\n") {
		t.Errorf("an aborted stream must be cut off, not ended: …%q", out[max(0, len(out)-40):])
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "boom") || strings.Contains(logs.String(), "abort handler") {
		t.Errorf("log: %s", logs.String())
	}
}

func TestServerTimeouts(t *testing.T) {
	addr := serve(t, &Server{Handler: echo, ReadHeaderTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond})
	// A head that never ends is cut off.
	start := time.Now()
	out := raw(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n")
	if out != "" || time.Since(start) > time.Second {
		t.Errorf("slow head: %q after %v", out, time.Since(start))
	}
	// An idle kept-alive connection is closed.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want EOF", err)
	}
}

func TestServerShutdown(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		io.WriteString(w, "done")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	slow := make(chan string, 1)
	go func() { slow <- raw(t, addr, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n") }()
	<-started

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	// The idle connection is closed; the request in flight is not.
	idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection during shutdown: %v, want EOF", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if out := <-slow; !strings.HasSuffix(out, "done") || !strings.Contains(out, "Connection: close") {
		t.Errorf("the request in flight: %q", out)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("new connections are still accepted")
	}
}

func TestServerTLS(t *testing.T) {
	cert, pool := testCert(t)
	addr := serve(t, &Server{Handler: echo, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	resp, err := c.Post("https://"+addr+"/tls", "text/plain", strings.NewReader("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if e := decodeEcho(t, resp); e.Body != "secret" || resp.TLS == nil || resp.Proto != "HTTP/1.1" {
		t.Errorf("echo %+v over %s", e, resp.Proto)
	}
}

// testCert returns a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sov test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
