package http1

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServerPipelinedWhileWatched: requests pipelined behind slow ones,
// arriving in pieces while the earlier ones are watched for a vanished
// client, reach their handlers whole.
func TestServerPipelinedWhileWatched(t *testing.T) {
	addr := serve(t, &Server{DisconnectAfter: 5 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
		fmt.Fprintf(w, "%s %s", r.Method, r.URL.Path)
	})})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(20 * time.Millisecond)
	io.WriteString(conn, "GET /three HTTP/1.1\r\nHost: a\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	io.WriteString(conn, "GET /four HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(conn)
	for _, want := range []string{"GET /one", "GET /two", "GET /three", "GET /four"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("before %q: %v", want, err)
		}
		got, _ := io.ReadAll(resp.Body)
		if string(got) != want {
			t.Errorf("answer %q, want %q", got, want)
		}
	}
}

// TestServerAnswersBeforeAnUnreadUpload: a handler that refuses a large
// upload without reading it (a bad key, a body over the limit) gets its
// answer to the client, not a connection reset.
func TestServerAnswersBeforeAnUnreadUpload(t *testing.T) {
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no key", http.StatusUnauthorized)
	})})
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	big := bytes.Repeat([]byte("x"), 8<<20)
	for i := range 5 {
		resp, err := c.Post("http://"+addr+"/", "application/octet-stream", bytes.NewReader(big))
		if err != nil {
			t.Fatalf("upload %d: %v; want the 401", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Errorf("upload %d: status %d, close %v; want 401 and Connection: close", i, resp.StatusCode, resp.Close)
		}
	}
}

// TestServerStaleWriteDeadline: a write deadline an earlier handler set
// does not cut off a later answer, 100 Continue included.
func TestServerStaleWriteDeadline(t *testing.T) {
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/short" {
			http.NewResponseController(w).SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	})})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	io.WriteString(conn, "GET /short HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	} else {
		io.ReadAll(resp.Body)
	}
	time.Sleep(150 * time.Millisecond) // the deadline passes
	io.WriteString(conn, "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("got %q, %v; want 100 Continue", line, err)
	}
	br.ReadString('\n')
	io.WriteString(conn, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "hello" {
		t.Errorf("body %q", b)
	}
}

// TestServerShortWriteDeadlines: deadlines a handler renews in small steps
// are honoured, not rounded away.
func TestServerShortWriteDeadlines(t *testing.T) {
	addr := serve(t, &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for i := range 8 {
			rc.SetWriteDeadline(time.Now().Add(150 * time.Millisecond))
			if _, err := fmt.Fprintf(w, "event %d\n", i); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})})
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || strings.Count(string(b), "event") != 8 {
		t.Errorf("got %q, %v; want 8 events", b, err)
	}
}

func TestServerHandlerHeaders(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/te", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Transfer-Encoding", "chunked") // the server frames answers
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	})
	mux.HandleFunc("/nocontent", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html><body>"+strings.Repeat("x", 6000)+"</body></html>")
	})
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Before", "1")
		w.WriteHeader(http.StatusOK)
		w.Header().Set("X-After", "1") // no effect, as with net/http
		io.WriteString(w, "body")
	})
	addr := serve(t, &Server{Handler: mux})
	out := raw(t, addr, "GET /te HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if strings.Contains(out, "Transfer-Encoding") || !strings.HasSuffix(out, "\r\n\r\nhello") {
		t.Errorf("/te: %q", out)
	}
	out = raw(t, addr, "GET /nocontent HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if strings.Contains(out, "Content-Length") {
		t.Errorf("/nocontent: %q", out)
	}
	out = raw(t, addr, "HEAD /te HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "Content-Length: 5\r\n") || strings.Contains(out, "hello") {
		t.Errorf("HEAD /te: %q", out)
	}
	out = raw(t, addr, "GET /html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "Content-Type: text/html") {
		t.Errorf("/html: %.300q", out)
	}
	out = raw(t, addr, "GET /late HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "X-Before: 1") || strings.Contains(out, "X-After") {
		t.Errorf("/late: %q", out)
	}
}

func TestTemporaryAcceptError(t *testing.T) {
	for _, err := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if !temporaryAcceptError(&net.OpError{Op: "accept", Err: err}) {
			t.Errorf("%v: not retried", err)
		}
	}
	if temporaryAcceptError(net.ErrClosed) || temporaryAcceptError(errors.New("boom")) {
		t.Error("a closed listener or an unknown error is retried")
	}
}

func TestServerLongHeadsFollowTheSameRules(t *testing.T) {
	addr := serve(t, &Server{Handler: echo})
	pad := "X-Pad: " + strings.Repeat("p", 5000) + "\r\n" // past the 4 KiB buffer
	for _, tc := range []struct{ name, req string }{
		{"space before colon", "POST /first HTTP/1.1\r\nHost: a\r\n" + pad + "Content-Length : 36\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"folded line", "POST /first HTTP/1.1\r\nHost: a\r\n" + pad + "Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"},
		{"control character", "GET / HTTP/1.1\r\nHost: a\r\n" + pad + "X-A: b\x01\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := raw(t, addr, tc.req)
			if !strings.HasPrefix(out, "HTTP/1.1 400 ") || strings.Contains(out, "smuggled") {
				t.Errorf("answer %.200q, want one 400", out)
			}
		})
	}
	out := raw(t, addr, "GET /long HTTP/1.1\r\nHost: a\r\n"+pad+"Connection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 200 ") || !strings.Contains(out, `"path":"/long"`) {
		t.Errorf("a valid long head: %.200q", out)
	}
}

func TestServerRequestEdges(t *testing.T) {
	addr := serve(t, &Server{Handler: echo})
	// A CRLF after a body (old clients send one) before the next request.
	out := raw(t, addr, "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if strings.Count(out, "HTTP/1.1 200 OK") != 2 {
		t.Errorf("CRLF between requests: %q", out)
	}
	out = raw(t, addr, "GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 400 ") {
		t.Errorf("malformed Host: %.100q", out)
	}
}

// TestServerWatchesDespiteBufferedBytes: bytes after a request (a CRLF,
// a pipelined request) do not stop the server from noticing that the
// client left.
func TestServerWatchesDespiteBufferedBytes(t *testing.T) {
	canceled := make(chan bool, 1)
	addr := serve(t, &Server{DisconnectAfter: 10 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		select {
		case <-r.Context().Done():
			canceled <- true
		case <-time.After(3 * time.Second):
			canceled <- false
		}
	})})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi\r\n")
	time.Sleep(60 * time.Millisecond)
	conn.Close()
	if !<-canceled {
		t.Error("the context was not canceled when the client left")
	}
}

// TestServerHandlerReadDeadline: a read deadline the handler sets is not
// taken for the client leaving.
func TestServerHandlerReadDeadline(t *testing.T) {
	result := make(chan error, 1)
	addr := serve(t, &Server{DisconnectAfter: 5 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond) // watched by now
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		time.Sleep(60 * time.Millisecond)
		result <- r.Context().Err()
		io.WriteString(w, "done")
	})})
	out := raw(t, addr, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if err := <-result; err != nil || !strings.HasSuffix(out, "done") {
		t.Errorf("context %v, answer %q; want the request to run to its end", err, out)
	}
}

func TestServerAnswerFraming(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	})
	mux.HandleFunc("/typed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "14")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "<html></html>\n")
	})
	addr := serve(t, &Server{Handler: mux})
	out := raw(t, addr, "GET /close HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /close HTTP/1.0\r\n\r\n")
	if strings.Count(out, "HTTP/1.1 200") != 1 || strings.Contains(out, "keep-alive") {
		t.Errorf("HTTP/1.0, handler closes: %q", out)
	}
	out = raw(t, addr, "GET /typed HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if !strings.Contains(out, "Content-Type: text/html") {
		t.Errorf("declared length, no type: %q", out)
	}
}

func TestServerAnswersBeforeAnUnreadUploadOverTLS(t *testing.T) {
	cert, pool := testCert(t)
	addr := serve(t, &Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no key", http.StatusUnauthorized)
	})})
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer c.CloseIdleConnections()
	big := bytes.Repeat([]byte("x"), 8<<20)
	for i := range 5 {
		resp, err := c.Post("https://"+addr+"/", "application/octet-stream", bytes.NewReader(big))
		if err != nil {
			t.Fatalf("upload %d: %v; want the 401", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("upload %d: status %d", i, resp.StatusCode)
		}
	}
}
