package http1

import (
	"bufio"
	"bytes"
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
