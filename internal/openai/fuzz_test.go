package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// Seed corpora live in testdata/fuzz/<target>/.

// checkDecoded is what every decoder must guarantee: a request or an
// *APIError (400), never both; and an accepted request marshals to JSON
// that decodes again.
func checkDecoded[T any](t *testing.T, body []byte, decode func([]byte) (*T, error)) {
	r, err := decode(body)
	if err != nil {
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Type != TypeInvalidRequest || ae.Message == "" {
			t.Fatalf("error %T %v is not a 400 *APIError", err, err)
		}
		if r != nil {
			t.Fatalf("request returned with error %v", err)
		}
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("accepted request does not marshal: %v", err)
	}
	if _, err := decode(b); err != nil {
		t.Fatalf("accepted request, marshalled, is refused: %v\nbody:       %q\nmarshalled: %s", err, body, b)
	}
}

func FuzzDecodeChat(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoded(t, body, DecodeChatCompletionRequest)
	})
}

func FuzzDecodeCompletion(f *testing.F) {
	f.Add([]byte(`{"model":"m","prompt":"hi"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoded(t, body, DecodeCompletionRequest)
	})
}

func FuzzDecodeEmbedding(f *testing.F) {
	f.Add([]byte(`{"model":"m","input":["a","b"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecoded(t, body, DecodeEmbeddingRequest)
		// Whatever an upstream answers must not panic the response decoder.
		var resp EmbeddingResponse
		if json.Unmarshal(body, &resp) == nil {
			if _, err := json.Marshal(resp); err != nil {
				var e *json.MarshalerError
				if !errors.As(err, &e) { // NaN cannot come from JSON, but base64 can hold one
					t.Fatalf("decoded response does not marshal: %v", err)
				}
			}
		}
	})
}

// fuzzMax is the event limit in FuzzSSEReader, small so that the fuzzer
// reaches it.
const fuzzMax = 64

func readAllFrom(r io.Reader) ([]string, bool, error) {
	rd := NewReaderSize(r, fuzzMax)
	var out []string
	for {
		p, err := rd.Next()
		if err != nil {
			return out, rd.SawDone(), err
		}
		if len(p) > fuzzMax {
			return out, false, errors.New("payload over the limit")
		}
		out = append(out, string(p))
	}
}

func FuzzSSEReader(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		whole, done, err := readAllFrom(bytes.NewReader(stream))
		if err != nil && err != io.EOF && !errors.Is(err, ErrEventTooLong) {
			t.Fatalf("unexpected error %v", err)
		}
		// Reading in one-byte pieces must see the same events.
		split, splitDone, splitErr := readAllFrom(iotest.OneByteReader(bytes.NewReader(stream)))
		if diff := cmp.Diff(whole, split); diff != "" {
			t.Fatalf("split reads differ (-whole +split)\n%s", diff)
		}
		if done != splitDone || (err == io.EOF) != (splitErr == io.EOF) {
			t.Fatalf("whole: done %v err %v; split: done %v err %v", done, err, splitDone, splitErr)
		}
		// What was read, written again, reads back the same.
		var b bytes.Buffer
		w := NewWriter(&b)
		for _, p := range whole {
			w.Event([]byte(p))
		}
		w.Done()
		again, againDone, err := readAllFrom(&b)
		if err != io.EOF && !errors.Is(err, ErrEventTooLong) {
			t.Fatalf("rewritten stream: %v", err)
		}
		if err == io.EOF {
			if diff := cmp.Diff(whole, again); diff != "" {
				t.Fatalf("rewritten stream differs (-first +again)\n%s", diff)
			}
			if !againDone {
				t.Fatalf("rewritten stream lost [DONE]")
			}
		}
	})
}

// FuzzDecodeChatFast checks the chat fast path against encoding/json:
// whatever it accepts, encoding/json decodes to the same request.
func FuzzDecodeChatFast(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast ChatCompletionRequest
		if !decodeChatFast(body, &fast) {
			return
		}
		var slow ChatCompletionRequest
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("fast path accepted %q; encoding/json: %v", body, err)
		}
		if diff := cmp.Diff(slow, fast, cmp.AllowUnexported(Content{})); diff != "" {
			t.Fatalf("fast path differs on %q (-encoding/json +fast):\n%s", body, diff)
		}
	})
}
