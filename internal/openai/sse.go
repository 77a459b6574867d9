package openai

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Server-sent events, as OpenAI streams use them: each event is one
// "data: <json>" line and a blank line; the stream ends with
// "data: [DONE]".

// WriteHeaders sets the response headers of an event stream on h: the
// content type, no caching, keep-alive, and no buffering by proxies
// (x-accel-buffering). Call it before the first write.
func WriteHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
}

// Writer writes server-sent events and flushes each one to the client.
// It is not safe for concurrent use.
type Writer struct {
	w     io.Writer
	flush func() error
	buf   []byte
}

// NewWriter returns a Writer on w. If w is an http.ResponseWriter, each
// event is flushed through http.ResponseController (which sees through
// middleware that wraps the writer and has an Unwrap method); otherwise w
// is flushed if it has a Flush method.
func NewWriter(w io.Writer) *Writer {
	sw := &Writer{w: w}
	switch f := w.(type) {
	case http.ResponseWriter:
		rc := http.NewResponseController(f)
		sw.flush = func() error {
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
			return nil
		}
	case interface{ Flush() error }:
		sw.flush = f.Flush
	case interface{ Flush() }:
		sw.flush = func() error { f.Flush(); return nil }
	}
	return sw
}

// WriteHeaders sets the event-stream headers on h; see the function
// WriteHeaders.
func (w *Writer) WriteHeaders(h http.Header) { WriteHeaders(h) }

var doneEvent = []byte("data: [DONE]\n\n")

// Event writes payload as one event and flushes it. A payload that holds
// line breaks is written as several data lines, which a reader joins back
// with "\n".
func (w *Writer) Event(payload []byte) error {
	b := w.buf[:0]
	for {
		i := bytes.IndexAny(payload, "\r\n")
		if i < 0 {
			break
		}
		b = append(b, "data: "...)
		b = append(b, payload[:i]...)
		b = append(b, '\n')
		if payload[i] == '\r' && i+1 < len(payload) && payload[i+1] == '\n' {
			i++
		}
		payload = payload[i+1:]
	}
	b = append(b, "data: "...)
	b = append(b, payload...)
	b = append(b, "\n\n"...)
	w.buf = b
	return w.send(b)
}

// Comment writes an SSE comment line (": text"), which clients ignore; use
// it as a keep-alive. Line breaks in text are replaced by spaces.
func (w *Writer) Comment(text string) error {
	b := append(w.buf[:0], ": "...)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	b = append(b, "\n\n"...)
	w.buf = b
	return w.send(b)
}

// Done writes the final "data: [DONE]" event and flushes it.
func (w *Writer) Done() error { return w.send(doneEvent) }

func (w *Writer) send(b []byte) error {
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	if w.flush != nil {
		return w.flush()
	}
	return nil
}

// DefaultMaxEventSize bounds a line, and the data of one event, that a
// Reader accepts.
const DefaultMaxEventSize = 8 << 20

// ErrEventTooLong is returned (wrapped) by Reader.Next for a line or an
// event larger than the reader's limit.
var ErrEventTooLong = errors.New("server-sent event too long")

// Reader reads the data of server-sent events from an upstream's stream.
// It follows the SSE format: lines end in LF, CRLF or CR; "data:" fields
// (with or without a space after the colon) accumulate, joined by "\n",
// until a blank line ends the event; comment lines (":") and the event,
// id and retry fields are ignored; a leading byte-order mark is skipped.
type Reader struct {
	sc           *bufio.Scanner
	max          int
	data         []byte
	hasData      bool
	unterminated bool // the scanner's last line ended at EOF, not at a line break
	sawDone      bool
	first        bool
	err          error
}

// NewReader returns a Reader on r with the limit DefaultMaxEventSize.
func NewReader(r io.Reader) *Reader { return NewReaderSize(r, DefaultMaxEventSize) }

// NewReaderSize returns a Reader on r that accepts lines (field name
// included, line break excluded) and event data (lines joined) of up to
// max bytes each.
func NewReaderSize(r io.Reader, max int) *Reader {
	if max < 16 {
		max = 16
	}
	rd := &Reader{max: max, first: true}
	rd.sc = bufio.NewScanner(r)
	// Room for a line of max bytes and its CRLF; longer lines are refused
	// in Next.
	rd.sc.Buffer(make([]byte, 0, min(max, 4096)), max+2)
	rd.sc.Split(rd.splitLine)
	return rd
}

// splitLine is a bufio.SplitFunc for SSE lines: LF, CRLF or a lone CR.
func (r *Reader) splitLine(data []byte, atEOF bool) (advance int, token []byte, err error) {
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		if atEOF && len(data) > 0 {
			r.unterminated = true
			return len(data), data, nil
		}
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	case atEOF:
		return i + 1, data[:i], nil
	}
	return 0, nil, nil // a CR at the end of the buffer: is LF next?
}

// Next returns the data of the next event. The slice is the caller's to
// keep. It returns io.EOF after a "[DONE]" event or at the end of the
// stream (see SawDone to tell them apart); an event still open when the
// stream ends is returned if its lines were complete and dropped if its
// last line was cut off. Events without data are skipped.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	for r.sc.Scan() {
		line := r.sc.Bytes()
		if len(line) > r.max {
			r.err = fmt.Errorf("sse: line over %d bytes: %w", r.max, ErrEventTooLong)
			return nil, r.err
		}
		if r.first {
			line = bytes.TrimPrefix(line, []byte("\ufeff"))
			r.first = false
		}
		if r.unterminated {
			break // the stream was cut in the middle of a line
		}
		if len(line) == 0 {
			if payload, ok := r.dispatch(); ok {
				return payload, nil
			}
			if r.err != nil {
				return nil, r.err
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte{':'})
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		if string(field) != "data" {
			continue // event, id, retry and unknown fields
		}
		if len(r.data)+btoi(r.hasData)+len(value) > r.max {
			r.err = fmt.Errorf("sse: event data over %d bytes: %w", r.max, ErrEventTooLong)
			return nil, r.err
		}
		if r.hasData {
			r.data = append(r.data, '\n')
		}
		r.data = append(r.data, value...)
		r.hasData = true
	}
	if err := r.sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("sse: line over %d bytes: %w", r.max, ErrEventTooLong)
		}
		r.err = err
		return nil, err
	}
	// End of stream: deliver a pending event whose lines were complete;
	// the next call returns io.EOF.
	r.err = io.EOF
	if !r.unterminated {
		if payload, ok := r.dispatch(); ok {
			return payload, nil
		}
	}
	return nil, io.EOF
}

// dispatch ends the current event. It reports false for an event without
// data and for [DONE], after which it sets r.err to io.EOF.
func (r *Reader) dispatch() ([]byte, bool) {
	if !r.hasData {
		return nil, false
	}
	payload := r.data
	r.data, r.hasData = nil, false
	if string(payload) == "[DONE]" {
		r.sawDone = true
		r.err = io.EOF
		return nil, false
	}
	return payload, true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// SawDone reports whether the stream ended with a "[DONE]" event, as
// OpenAI-compatible servers end a complete answer; io.EOF without it
// means the stream was cut short (or the server does not send [DONE]).
func (r *Reader) SawDone() bool { return r.sawDone }
