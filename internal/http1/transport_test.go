package http1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counted is a net/http test server that counts the connections it
// accepted.
type counted struct {
	*httptest.Server
	conns atomic.Int32
}

func newCounted(t *testing.T, h http.HandlerFunc, configure ...func(*http.Server)) *counted {
	c := &counted{}
	c.Server = httptest.NewUnstartedServer(h)
	for _, f := range configure {
		f(c.Config)
	}
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

func post(t *testing.T, tr http.RoundTripper, ctx context.Context, u, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return tr.RoundTrip(req)
}

func readAllClose(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return string(b)
}

func TestTransportReusesConnections(t *testing.T) {
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Type", r.Header.Get("Content-Type"))
		if r.URL.Query().Has("chunked") {
			w.Write(b)
			w.(http.Flusher).Flush() // no length known: chunked
			w.Write([]byte("!"))
			return
		}
		w.Write(append(b, '!'))
	})
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()
	for i, path := range []string{"/a", "/b?chunked=1", "/c", "/d?chunked=1"} {
		resp, err := post(t, tr, context.Background(), srv.URL+path, "hello")
		if err != nil {
			t.Fatal(err)
		}
		if got := readAllClose(t, resp); got != "hello!" || resp.Header.Get("X-Type") != "application/json" {
			t.Errorf("request %d: %q, type %q", i, got, resp.Header.Get("X-Type"))
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections for 4 sequential requests, want 1", n)
	}
}

func TestTransportRetriesAConnectionTheServerClosed(t *testing.T) {
	var requests atomic.Int32
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.WriteString(w, "ok")
	}, func(s *http.Server) { s.IdleTimeout = 20 * time.Millisecond })
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()
	send := func(method string) error {
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader("x"))
		if method == http.MethodGet {
			req, _ = http.NewRequest(method, srv.URL, nil)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return err
		}
		if got := readAllClose(t, resp); got != "ok" {
			t.Errorf("answer %q", got)
		}
		return nil
	}
	// Idle longer than trustIdle: the closed connection is found before
	// use, and even a POST goes out on a fresh one.
	for range 2 {
		time.Sleep(trustIdle + 50*time.Millisecond)
		if err := send(http.MethodPost); err != nil {
			t.Fatalf("after the server closed an idle connection: %v", err)
		}
	}
	// Idle less than trustIdle (but longer than the server keeps it): not
	// checked, so the request fails on the closed connection; a GET is
	// sent again on a fresh one.
	time.Sleep(60 * time.Millisecond)
	if err := send(http.MethodGet); err != nil {
		t.Fatalf("GET on a connection the server had closed: %v", err)
	}
	if n := srv.conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3 (each closed by the server while idle)", n)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("the server answered %d requests, want 3", n)
	}
}

// TestTransportDoesNotResendAPost: a POST the server read and then dropped
// without an answer is not sent again (it may have been acted on).
func TestTransportDoesNotResendAPost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var received atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.ReadAll(req.Body)
					received.Add(1)
					if i == 1 {
						return // the second request on this connection: dropped unanswered
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			}()
		}
	}()
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()
	for i := range 2 {
		resp, err := post(t, tr, context.Background(), "http://"+ln.Addr().String()+"/", "generate")
		if i == 0 {
			if err != nil {
				t.Fatal(err)
			}
			readAllClose(t, resp)
			continue
		}
		if err == nil {
			resp.Body.Close()
			t.Fatal("the dropped POST got an answer")
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := received.Load(); n != 2 {
		t.Errorf("the server received %d POSTs for 2 requests; the dropped one was sent again", n)
	}
}

func TestTransportConnectionClose(t *testing.T) {
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()
	for range 2 {
		resp, err := post(t, tr, context.Background(), srv.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Close || readAllClose(t, resp) != "bye" {
			t.Errorf("Close %v", resp.Close)
		}
	}
	if n := srv.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: a Connection: close answer is not reused", n)
	}
}

// TestTransportRawAnswers feeds hand-written answers: informational
// answers before the real one, a body delimited by the connection's end, a
// chunked body with a trailer, and malformed heads.
func TestTransportRawAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, answer, body string
		wantErr            bool
	}{
		{"early hints", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", "hi", false},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nto the end", "to the end", false},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n", "abcde", false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", "old", false},
		{"garbage", "hello there\r\n\r\n", "", true},
		{"bad code", "HTTP/1.1 2x0 OK\r\n\r\n", "", true},
		{"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "", true},
		{"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "", true},
		{"huge head", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", "", true},
		{"endless hints", strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 10) + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf) // the request
				io.WriteString(c, tc.answer)
			}()
			tr := NewTransport(time.Second, 4, nil)
			defer tr.Close()
			resp, err := post(t, tr, context.Background(), "http://"+ln.Addr().String()+"/", "q")
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if tc.wantErr {
				if err == nil {
					t.Errorf("no error; body %q", body)
				}
				return
			}
			if err != nil || string(body) != tc.body || resp.StatusCode != 200 {
				t.Errorf("body %q, err %v; want %q", body, err, tc.body)
			}
		})
	}
}

func TestTransportCancellation(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/midway" {
			io.WriteString(w, "first part")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()

	// While waiting for the head.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := post(t, tr, ctx, srv.URL+"/head", "")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("waiting for the head: %v after %v; want the context's error at once", err, time.Since(start))
	}

	// While reading the body.
	ctx2, cancel2 := context.WithCancel(context.Background())
	resp, err := post(t, tr, ctx2, srv.URL+"/midway", "")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("first part"))
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, cancel2)
	_, err = resp.Body.Read(buf)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("reading after cancellation: %v, want context.Canceled", err)
	}
	resp.Body.Close()
}

// TestTransportKeepsConnectionAfterStreamEnd: a stream read up to its last
// event, with only the chunked terminator left unread, leaves the
// connection reusable when the body is closed.
func TestTransportKeepsConnectionAfterStreamEnd(t *testing.T) {
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: [DONE]\n\n")
		w.(http.Flusher).Flush()
	})
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()
	for range 3 {
		resp, err := post(t, tr, context.Background(), srv.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len("data: [DONE]\n\n"))
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // the terminator arrives
		resp.Body.Close()
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestTransportRefusesHeaderInjection(t *testing.T) {
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {})
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("x"))
	req.Header["Authorization"] = []string{"Bearer a\r\nX-Evil: 1"}
	if _, err := tr.RoundTrip(req); err == nil {
		t.Error("a header value with a line break was sent")
	}
}

func TestTransportTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	defer srv.Close()
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	tr.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	resp, err := post(t, tr, context.Background(), srv.URL, "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAllClose(t, resp); got != "HTTP/1.1" {
		t.Errorf("proto %q", got)
	}
	// Without the test CA, the certificate is refused.
	tr2 := NewTransport(time.Second, 4, nil)
	defer tr2.Close()
	if _, err := post(t, tr2, context.Background(), srv.URL, "x"); err == nil {
		t.Error("an untrusted certificate was accepted")
	}
}

// recording is a RoundTripper that notes the hosts it carried requests
// for.
type recording struct {
	mu    sync.Mutex
	hosts []string
	next  http.RoundTripper
}

func (r *recording) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func TestTransportProxiedHostsUseTheFallback(t *testing.T) {
	direct := newCounted(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "direct") })
	viaProxy := newCounted(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "proxied") })
	proxiedURL, _ := url.Parse(viaProxy.URL)
	fb := &recording{next: &http.Transport{}}
	tr := NewTransport(time.Second, 4, fb)
	defer tr.Close()
	tr.proxy = func(r *http.Request) (*url.URL, error) {
		if r.URL.Host == proxiedURL.Host {
			return url.Parse("http://proxy.invalid:3128") // never dialled: the fallback decides
		}
		return nil, nil
	}
	fb.next = http.DefaultTransport // dials the server itself for the test
	for _, u := range []string{direct.URL, viaProxy.URL} {
		resp, err := post(t, tr, context.Background(), u, "")
		if err != nil {
			t.Fatal(err)
		}
		readAllClose(t, resp)
	}
	if len(fb.hosts) != 1 || fb.hosts[0] != proxiedURL.Host {
		t.Errorf("fallback carried %v, want only %s", fb.hosts, proxiedURL.Host)
	}
}

func TestTransportLargeBodies(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 100_000) // 1 MB each way
	srv := newCounted(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})
	tr := NewTransport(time.Second, 4, nil)
	defer tr.Close()
	resp, err := post(t, tr, context.Background(), srv.URL, string(big))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAllClose(t, resp); got != string(big) {
		t.Errorf("echoed %d bytes, want %d", len(got), len(big))
	}
}
