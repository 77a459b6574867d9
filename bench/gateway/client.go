//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// target is one endpoint the benchmark calls: the upstream directly or the
// gateway in front of it.
type target struct {
	name   string
	url    string // the chat completions URL
	key    string // bearer token; "" sends none
	client *http.Client
}

// newTarget returns a target with its own keep-alive client. conns is how
// many idle connections it keeps (the concurrency it expects).
func newTarget(name, baseURL, key string, conns int, timeout time.Duration) *target {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &target{
		name:   name,
		url:    strings.TrimRight(baseURL, "/") + "/v1/chat/completions",
		key:    key,
		client: &http.Client{Transport: tr, Timeout: timeout},
	}
}

func (t *target) close() { t.client.CloseIdleConnections() }

// chatBody returns a small chat completion request whose prompt starts
// with tag (unique per request, so that no cache can answer) and is padded
// with filler words to about size bytes.
func chatBody(tag string, stream bool, size int) []byte {
	b := make([]byte, 0, max(size, 160)+64)
	b = append(b, `{"model":"`+benchModel+`","messages":[{"role":"user","content":"bench `...)
	b = append(b, tag...)
	b = append(b, ` say hello in a few words`...)
	const filler = " lorem"
	for len(b)+len(filler)+60 <= size {
		b = append(b, filler...)
	}
	b = append(b, `"}],"max_tokens":8`...)
	if stream {
		b = append(b, `,"stream":true`...)
	}
	return append(b, '}')
}

// callResult is the outcome of one request.
type callResult struct {
	latency time.Duration // until the whole answer was read
	first   time.Duration // until the first server-sent event (streams)
	status  int           // HTTP status; 0 when none arrived
	err     error         // transport error or a malformed answer
}

// errBadAnswer marks a 200 whose body is not the expected answer.
var errBadAnswer = errors.New("unexpected answer")

// call sends one chat completion and reads the whole answer. A
// non-streamed answer must echo tag; a stream must end with [DONE].
func (t *target) call(ctx context.Context, tag string, stream bool, size int) callResult {
	body := chatBody(tag, stream, size)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return callResult{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if t.key != "" {
		req.Header.Set("Authorization", "Bearer "+t.key)
	}
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return callResult{latency: time.Since(start), err: err}
	}
	defer resp.Body.Close()
	res := callResult{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK || !stream {
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		res.latency = time.Since(start)
		switch {
		case err != nil:
			res.err = err
		case resp.StatusCode == http.StatusOK && !bytes.Contains(data, []byte(tag)):
			res.err = fmt.Errorf("%w: the reply does not echo the prompt: %.200q", errBadAnswer, data)
		}
		return res
	}
	first, done, err := readStream(resp.Body, start)
	res.first, res.latency = first, time.Since(start)
	switch {
	case err != nil:
		res.err = err
	case !done:
		res.err = fmt.Errorf("%w: the stream ended without data: [DONE]", errBadAnswer)
	}
	return res
}

// readStream reads server-sent events to the end and returns the time from
// start to the first data event and whether [DONE] arrived.
func readStream(r io.Reader, start time.Time) (first time.Duration, done bool, err error) {
	br := bufio.NewReaderSize(r, 4096)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && bytes.HasPrefix(line, []byte("data:")) {
			if first == 0 {
				first = time.Since(start)
			}
			if bytes.Equal(bytes.TrimSpace(line[len("data:"):]), []byte("[DONE]")) {
				done = true
			}
		}
		switch {
		case err == io.EOF:
			return first, done, nil
		case errors.Is(err, bufio.ErrBufferFull):
			// A long event: the rest of the line is not needed.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return first, done, nil
			}
			if err != nil {
				return first, done, err
			}
		case err != nil:
			return first, done, err
		}
	}
}

// errorKind names the class of a failed result for the error table: the
// HTTP status, or the kind of transport failure.
func errorKind(r callResult) string {
	switch {
	case r.status != 0 && r.status != http.StatusOK:
		return "HTTP " + strconv.Itoa(r.status)
	case errors.Is(r.err, errBadAnswer):
		return "HTTP 200, bad answer"
	case r.err == nil:
		return ""
	}
	var ne net.Error
	switch {
	case errors.Is(r.err, context.DeadlineExceeded) || (errors.As(r.err, &ne) && ne.Timeout()):
		return "timeout"
	case errors.Is(r.err, context.Canceled):
		return "cancelled"
	case strings.Contains(r.err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(r.err.Error(), "connection reset"):
		return "connection reset"
	case errors.Is(r.err, io.ErrUnexpectedEOF) || errors.Is(r.err, io.EOF):
		return "connection closed early"
	}
	return "other: " + r.err.Error()
}
