package openai

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAll returns every payload r yields and the error that ended it.
func readAll(r *Reader) ([]string, error) {
	var out []string
	for {
		p, err := r.Next()
		if err != nil {
			return out, err
		}
		out = append(out, string(p))
	}
}

func TestWriterFormat(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	for _, p := range []string{`{"a":1}`, "two\nlines", "crlf\r\nand\rcr", ""} {
		if err := w.Event([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	w.Comment("keep\nalive")
	w.Done()
	want := "data: {\"a\":1}\n\n" +
		"data: two\ndata: lines\n\n" +
		"data: crlf\ndata: and\ndata: cr\n\n" +
		"data: \n\n" +
		": keep alive\n\n" +
		"data: [DONE]\n\n"
	if got := b.String(); got != want {
		t.Errorf("\n got %q\nwant %q", got, want)
	}
}

func TestWriterFlushesResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteHeaders(rec.Header())
	w := NewWriter(rec)
	if err := w.Event([]byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Error("event not flushed")
	}
	want := http.Header{
		"Content-Type":      {"text/event-stream"},
		"Cache-Control":     {"no-cache"},
		"Connection":        {"keep-alive"},
		"X-Accel-Buffering": {"no"},
	}
	if diff := cmp.Diff(want, rec.Header()); diff != "" {
		t.Errorf("headers (-want +got)\n%s", diff)
	}
}

// wrapped hides the recorder's Flush behind an Unwrap method, as logging
// middleware does.
type wrapped struct{ http.ResponseWriter }

func (w wrapped) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestWriterFlushesThroughMiddleware(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := NewWriter(wrapped{rec}).Done(); err != nil {
		t.Fatal(err)
	}
	if !rec.Flushed {
		t.Error("not flushed through Unwrap")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("client gone") }

func TestWriterError(t *testing.T) {
	if err := NewWriter(failWriter{}).Event([]byte("x")); err == nil {
		t.Error("write error not returned")
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		done bool
	}{
		{"openai", "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n", []string{`{"a":1}`, `{"b":2}`}, true},
		{"no space", "data:{\"a\":1}\n\ndata:[DONE]\n\n", []string{`{"a":1}`}, true},
		{"two spaces keeps one", "data:  x\n\n", []string{" x"}, false},
		{"crlf", "data: a\r\n\r\ndata: b\r\n\r\ndata: [DONE]\r\n\r\n", []string{"a", "b"}, true},
		{"cr", "data: a\r\rdata: b\r\r", []string{"a", "b"}, false},
		{"multi-line", "data: one\ndata: two\ndata:\n\n", []string{"one\ntwo\n"}, false},
		{"comments and fields", ": ping\nevent: message\nid: 7\nretry: 1000\ndata: x\nunknown: y\n\n: bye\n", []string{"x"}, false},
		{"event without data skipped", "event: ping\n\nid: 3\n\ndata: x\n\n", []string{"x"}, false},
		{"no colon", "data\n\n", []string{""}, false},
		{"bom", "\ufeffdata: x\n\n", []string{"x"}, false},
		{"blank lines", "\n\n\n\ndata: x\n\n\n\n", []string{"x"}, false},
		{"after done ignored", "data: a\n\ndata: [DONE]\n\ndata: b\n\n", []string{"a"}, true},
		{"pending event at end", "data: a\n\ndata: b\n", []string{"a", "b"}, false},
		{"cut line dropped", "data: a\n\ndata: {\"b\"", []string{"a"}, false},
		{"cut done", "data: a\n\ndata: [DONE]", []string{"a"}, false},
		{"done without blank line", "data: a\n\ndata: [DONE]\n", []string{"a"}, true},
		{"empty", "", nil, false},
		{"done only", "data: [DONE]\n\n", nil, true},
		{"data field with spaces is not data", "data : x\n\n", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, split := range []bool{false, true} {
				var src io.Reader = strings.NewReader(tt.in)
				if split {
					src = iotest.OneByteReader(src)
				}
				r := NewReader(src)
				got, err := readAll(r)
				if err != io.EOF {
					t.Errorf("split=%v: ended with %v, want io.EOF", split, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("split=%v: (-want +got)\n%s", split, diff)
				}
				if r.SawDone() != tt.done {
					t.Errorf("split=%v: SawDone() = %v, want %v", split, r.SawDone(), tt.done)
				}
				if _, err := r.Next(); err != io.EOF {
					t.Errorf("split=%v: Next after the end = %v, want io.EOF", split, err)
				}
			}
		})
	}
}

func TestReaderPayloadsAreOwned(t *testing.T) {
	r := NewReader(strings.NewReader("data: first\n\ndata: second\n\n"))
	a, _ := r.Next()
	b, _ := r.Next()
	if string(a) != "first" || string(b) != "second" {
		t.Errorf("got %q, %q", a, b)
	}
}

func TestReaderTooLong(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"one line", "data: " + strings.Repeat("x", 100) + "\n\n"},
		{"unterminated line", "data: " + strings.Repeat("x", 100)},
		{"comment", ":" + strings.Repeat("x", 100) + "\n\ndata: a\n\n"},
		{"many data lines", strings.Repeat("data: 0123456789\n", 10) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReaderSize(iotest.OneByteReader(strings.NewReader(tt.in)), 64)
			_, err := readAll(r)
			if !errors.Is(err, ErrEventTooLong) {
				t.Errorf("err = %v, want ErrEventTooLong", err)
			}
			if _, again := r.Next(); again != err {
				t.Errorf("Next after the error = %v, want %v", again, err)
			}
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		in := "data: " + strings.Repeat("x", 58) + "\n\n" // a 64-byte line
		got, err := readAll(NewReaderSize(strings.NewReader(in), 64))
		if err != io.EOF || len(got) != 1 {
			t.Errorf("got %d events, %v", len(got), err)
		}
	})
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestReaderError(t *testing.T) {
	r := NewReader(io.MultiReader(strings.NewReader("data: a\n\n"), errReader{}))
	got, err := readAll(r)
	if len(got) != 1 || err == nil || err == io.EOF {
		t.Errorf("got %q, %v; want one event and the read error", got, err)
	}
}

func TestWriterReaderRoundTrip(t *testing.T) {
	payloads := []string{`{"id":"c","choices":[]}`, "multi\nline", "", "with: colon", ": looks like a comment", strings.Repeat("y", 100000)}
	var b bytes.Buffer
	w := NewWriter(&b)
	for _, p := range payloads {
		w.Event([]byte(p))
		w.Comment("ping")
	}
	w.Done()
	for _, split := range []bool{false, true} {
		var src io.Reader = bytes.NewReader(b.Bytes())
		if split {
			src = iotest.HalfReader(src)
		}
		r := NewReader(src)
		got, err := readAll(r)
		if err != io.EOF || !r.SawDone() {
			t.Errorf("split=%v: ended with %v, SawDone %v", split, err, r.SawDone())
		}
		if diff := cmp.Diff(payloads, got); diff != "" {
			t.Errorf("split=%v: (-want +got)\n%s", split, diff)
		}
	}
}

func TestReaderEventLimit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"one line at the limit", "data: " + strings.Repeat("x", 10) + "\n\n", true},
		{"one line over", "data: " + strings.Repeat("x", 11) + "\n\n", false},
		{"two lines at the limit", "data: " + strings.Repeat("x", 8) + "\ndata: " + strings.Repeat("x", 7) + "\n\n", true},
		{"two lines over", "data: " + strings.Repeat("x", 8) + "\ndata: " + strings.Repeat("x", 8) + "\n\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(NewReaderSize(strings.NewReader(tt.in), 16))
			if tt.ok && err != io.EOF {
				t.Errorf("err = %v, want io.EOF", err)
			}
			if !tt.ok && !errors.Is(err, ErrEventTooLong) {
				t.Errorf("err = %v, want ErrEventTooLong", err)
			}
		})
	}
}

func TestReaderDefaultLimit(t *testing.T) {
	// A stream of one endless line must end in an error, not grow a
	// buffer without bound.
	endless := io.LimitReader(repeatReader('x'), DefaultMaxEventSize+1<<20)
	_, err := readAll(NewReader(io.MultiReader(strings.NewReader("data: "), endless)))
	if !errors.Is(err, ErrEventTooLong) {
		t.Errorf("err = %v, want ErrEventTooLong", err)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}
