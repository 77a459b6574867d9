package gateway_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/upstream/upstreamtest"
)

// scripted is a backend that serves the model "scripted" by running do: a
// stand-in for backend behaviour no real backend shows on purpose.
type scripted struct {
	do func(ctx context.Context, req *backend.Request, out backend.Output) error
}

func (scripted) Name() string           { return "scripted" }
func (scripted) Labels() backend.Labels { return backend.Labels{} }
func (scripted) Healthy() bool          { return true }
func (scripted) Models(context.Context) ([]backend.Model, error) {
	return []backend.Model{{ID: "scripted"}}, nil
}
func (s scripted) Do(ctx context.Context, req *backend.Request, out backend.Output) error {
	return s.do(ctx, req, out)
}

// TestPanicAfterAnswerBegan checks that a panic once the answer has begun
// drops the connection instead of appending an error body to it (raw JSON
// in an event stream), is logged, and is recorded as a 500.
func TestPanicAfterAnswerBegan(t *testing.T) {
	b := scripted{do: func(_ context.Context, req *backend.Request, out backend.Output) error {
		if req.Stream {
			out.Data([]byte(`{"choices":[{"index":0,"delta":{"content":"a"}}]}`))
		} else {
			out.Data([]byte(`{"object":"chat.completion","choices":[]}`))
		}
		panic("late failure in the backend")
	}}
	h := newHarness(t, setup{backends: backends(b)})
	secret := h.key(keys.CreateOptions{Name: "app"})
	for _, stream := range []bool{true, false} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			extra := ""
			if stream {
				extra = `,"stream":true`
			}
			resp := h.send(http.MethodPost, "/v1/chat/completions", secret, chatBody("scripted", "hi", extra))
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want the 200 already sent", resp.StatusCode)
			}
			if stream {
				if err == nil {
					t.Errorf("the stream ended cleanly; want it cut off: %q", body)
				}
				if strings.Contains(string(body), "[DONE]") || strings.Contains(string(body), `"error"`) {
					t.Errorf("the stream was continued after the panic: %q", body)
				}
				if !strings.HasPrefix(string(body), "data: {") {
					t.Errorf("the event before the panic is missing: %q", body)
				}
			} else if err != nil || string(body) != `{"object":"chat.completion","choices":[]}` {
				// The body was complete (and flushed) before the panic.
				t.Errorf("body %q, err %v; want the answer as written", body, err)
			}
			id := resp.Header.Get("X-Request-Id")
			if e := h.audit.inference(t, id); e.data["status"] != http.StatusInternalServerError {
				t.Errorf("audit status %v, want 500", e.data["status"])
			}
		})
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "late failure in the backend") || !strings.Contains(logs, "closing the connection") {
		t.Errorf("the panic is not logged:\n%s", logs)
	}
}

// TestContentLength checks that a non-streamed answer carries its length
// (it is flushed before the request's bookkeeping), small or large.
func TestContentLength(t *testing.T) {
	for _, words := range []int{3, 2000} {
		t.Run(strconv.Itoa(words), func(t *testing.T) {
			up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: strings.Repeat("word ", words)})
			h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})
			secret := h.key(keys.CreateOptions{Name: "app"})
			resp, body := h.chat(secret, chatBody("m", "hi", ""))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
				t.Errorf("content-length %d, transfer-encoding %v; body is %d bytes", resp.ContentLength, resp.TransferEncoding, len(body))
			}
		})
	}
}

// TestStreamWriteDeadline checks that a streaming client that stops
// reading is cut off after the stream write timeout, which ends the
// backend's work, and that the deadline does not outlive its request on a
// kept-alive connection (net/http clears it after each request).
func TestStreamWriteDeadline(t *testing.T) {
	ended := make(chan error, 1)
	event := []byte(`{"choices":[{"index":0,"delta":{"content":"` + strings.Repeat("x", 64<<10) + `"}}]}`)
	b := scripted{do: func(ctx context.Context, req *backend.Request, out backend.Output) error {
		if !req.Stream {
			return out.Data([]byte(`{"object":"chat.completion","choices":[]}`))
		}
		if req.Chat.Messages[0].Content.Text() == "short" {
			return out.Data(event[:0:0])
		}
		for {
			if err := out.Data(event); err != nil {
				ended <- err
				return err
			}
		}
	}}
	h := newHarness(t, setup{backends: backends(b), streamWriteTimeout: 300 * time.Millisecond})
	secret := h.key(keys.CreateOptions{Name: "app"})

	t.Run("client stops reading", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		body := chatBody("scripted", "long", `,"stream":true`)
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", secret, len(body), body)
		// Read nothing: the server's writes fill the socket buffers.
		select {
		case err := <-ended:
			if err == nil {
				t.Error("Data failed with a nil error")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the backend is still writing to a client that stopped reading")
		}
	})

	t.Run("deadline cleared for the next request", func(t *testing.T) {
		conn, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		br := bufio.NewReader(conn)
		send := func(model string, stream bool, want int) {
			t.Helper()
			extra := ""
			if stream {
				extra = `,"stream":true`
			}
			body := chatBody(model, "short", extra)
			fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", secret, len(body), body)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(resp.Body); err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
		}
		send("scripted", true, 200)
		time.Sleep(600 * time.Millisecond) // past the first request's deadline
		// An error answer sets no deadline of its own.
		send("nosuchmodel", false, 404)
		send("scripted", true, 200)
	})
}
