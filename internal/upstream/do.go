package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/http1"
	"sov.dev/sov/internal/openai"
)

// Errors Do returns (wrapped) after part of a stream reached the client,
// when failing over is no longer possible.
var (
	// ErrStreamCut: the stream broke off (connection lost, idle timeout,
	// garbled event) before [DONE]. The client was sent an error event.
	ErrStreamCut = errors.New("upstream stream ended early")
	// ErrStreamError: the upstream sent an error event, which was
	// forwarded to the client as it was.
	ErrStreamError = errors.New("upstream sent an error event")
)

// earlyEnd is the event sent to a client whose stream broke off.
var earlyEnd = []byte(`{"error":{"message":"upstream stream ended early","type":"server_error","param":null,"code":null}}`)

// Timeouts, as the causes of an attempt's cancellation.
var (
	errTimeout   = errors.New("timed out")
	errFirstByte = errors.New("no first event before the first-byte timeout")
	errIdle      = errors.New("no event within the idle timeout")
)

const maxErrorBody = 64 << 10 // what is read of an error answer

// Header values every request carries.
var (
	hdrJSON        = []string{"application/json"}
	hdrEventStream = []string{"text/event-stream"}
	hdrUserAgent   = []string{"sov"}
)

// Do forwards req to a replica and relays the answer to out, failing over
// to other replicas as the package documentation describes.
func (b *Backend) Do(ctx context.Context, req *backend.Request, out backend.Output) error {
	if _, err := endpointPath(req.Endpoint); err != nil {
		return err
	}
	ok, err := b.serves(ctx, req.Model)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("upstream %s: model %q: %w", b.cfg.Name, req.Model, backend.ErrUnknownModel)
	}
	body, toBase64, err := b.prepare(req)
	if err != nil {
		return err
	}

	tried := make([]bool, len(b.replicas))
	var errs []error
	for try := 0; try <= b.cfg.MaxRetries; try++ {
		if try > 0 {
			if err := sleep(ctx, backoff(try)); err != nil {
				return err
			}
		}
		r, trial := b.pick(tried)
		if r == nil {
			break
		}
		tried[r.idx] = true
		res := b.attempt(ctx, r, req, body, toBase64, out)
		b.release(r, trial, res.outcome, res.err)
		if !res.retry {
			return res.err
		}
		errs = append(errs, res.err)
		b.log.Debug("attempt failed", "replica", r.root, "request_id", req.RequestID, "err", res.err)
	}
	if len(errs) == 0 {
		return fmt.Errorf("upstream %s: no replica is healthy with a closed circuit breaker: %w", b.cfg.Name, backend.ErrUnavailable)
	}
	return fmt.Errorf("upstream %s: %w after %d attempts: %w", b.cfg.Name, backend.ErrUnavailable, len(errs), errors.Join(errs...))
}

func endpointPath(e backend.Endpoint) (string, error) {
	switch e {
	case backend.Chat:
		return "/v1/chat/completions", nil
	case backend.Completion:
		return "/v1/completions", nil
	case backend.Embedding:
		return "/v1/embeddings", nil
	}
	return "", fmt.Errorf("upstream: unknown endpoint %q", e)
}

// backoff returns the wait before retry number try (1, 2, …): 10 ms
// doubling, capped at 500 ms, jittered down by up to half.
func backoff(try int) time.Duration {
	d := min(10*time.Millisecond<<min(try-1, 10), 500*time.Millisecond)
	return d/2 + rand.N(d/2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// prepare returns the body to send upstream: the client's, with the model
// renamed when aliased, stream_options.include_usage set for streams, and
// encoding_format "float" in place of "base64" (toBase64 then says to
// encode the answer here).
func (b *Backend) prepare(req *backend.Request) (body []byte, toBase64 bool, err error) {
	body = req.Body
	notObject := openai.InvalidRequest("", "the request body must be a JSON object")
	if to, ok := b.cfg.Aliases[req.Model]; ok {
		q, _ := json.Marshal(to)
		if body, ok = with(body, "model", q); !ok {
			return nil, false, notObject
		}
	}
	if req.Stream {
		so := lookup(body, "stream_options")
		if !bytes.Equal(lookup(so, "include_usage"), []byte("true")) {
			nso := []byte(`{"include_usage":true}`)
			if len(so) > 0 && so[0] == '{' {
				if n, ok := with(so, "include_usage", []byte("true")); ok {
					nso = n
				}
			}
			var ok bool
			if body, ok = with(body, "stream_options", nso); !ok {
				return nil, false, notObject
			}
		}
	}
	if req.Endpoint == backend.Embedding && req.Embedding != nil && req.Embedding.Format() == openai.EncodingBase64 {
		var ok bool
		if body, ok = with(body, "encoding_format", []byte(`"float"`)); !ok {
			return nil, false, notObject
		}
		toBase64 = true
	}
	return body, toBase64, nil
}

// result is how one attempt ended.
type result struct {
	err     error
	outcome outcome
	retry   bool // nothing reached the client: another attempt may follow
}

// attempt sends the request to r and relays the answer.
func (b *Backend) attempt(ctx context.Context, r *replica, req *backend.Request, body []byte, toBase64 bool, out backend.Output) result {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	limit, cause := b.cfg.Timeout, errTimeout
	if req.Stream {
		limit, cause = b.cfg.FirstByteTimeout, errFirstByte
	}
	timer := time.AfterFunc(limit, func() { cancel(cause) })
	defer timer.Stop()

	u := r.endpoints[req.Endpoint]
	hreq := (&http.Request{
		Method:        http.MethodPost,
		URL:           u,
		Host:          u.Host,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        make(http.Header, 6),
		Body:          http1.NewBody(body),
		GetBody:       func() (io.ReadCloser, error) { return http1.NewBody(body), nil },
		ContentLength: int64(len(body)),
	}).WithContext(actx)
	// Canonical keys set directly; the shared values are only read by the
	// transport.
	h := hreq.Header
	h["Content-Type"] = hdrJSON
	if req.Stream {
		h["Accept"] = hdrEventStream
	} else {
		h["Accept"] = hdrJSON
	}
	if b.auth != nil {
		h["Authorization"] = b.auth
	}
	if req.RequestID != "" {
		h["X-Request-Id"] = []string{req.RequestID}
	}
	h["User-Agent"] = hdrUserAgent

	resp, err := b.tr.RoundTrip(hreq)
	if err != nil {
		return b.broken(ctx, actx, r, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return b.refused(r, resp)
	}
	if req.Stream {
		return b.relayStream(ctx, actx, cancel, timer, r, req, resp.Body, out)
	}
	return b.relayBody(ctx, actx, r, resp.Body, resp.ContentLength, toBase64, out)
}

// broken classifies an error before anything reached the client: the
// client's own cancellation, one of the attempt's timeouts, or a
// connection failure.
func (b *Backend) broken(ctx, actx context.Context, r *replica, err error) result {
	if ctx.Err() != nil {
		return result{err: ctx.Err(), outcome: neutral}
	}
	if cause := context.Cause(actx); cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	return result{err: fmt.Errorf("%s: %w", r.root, err), outcome: failure, retry: true}
}

// refused handles a non-2xx answer: 4xx answers other than 401, 403, 408
// and 429 are the client's fault and returned as they are; the rest may go
// to another replica.
func (b *Backend) refused(r *replica, resp *http.Response) result {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	code := resp.StatusCode
	apiErr := openai.ParseError(code, body)
	err := fmt.Errorf("%s: status %d: %s", r.root, code, apiErr.Message)
	switch {
	case code == http.StatusTooManyRequests:
		return result{err: err, outcome: neutral, retry: true}
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		// The upstream refused sov's key, not the client's: passing the
		// answer on would tell the client its own key is wrong.
		b.log.Error("upstream refused the configured API key", "replica", r.root, "status", code)
		return result{err: err, outcome: failure, retry: true}
	case code == http.StatusRequestTimeout || code >= 500 || code < 400:
		return result{err: err, outcome: failure, retry: true}
	}
	return result{err: apiErr, outcome: success}
}

// relayBody reads a non-streamed answer and hands it on whole.
func (b *Backend) relayBody(ctx, actx context.Context, r *replica, body io.Reader, size int64, toBase64 bool, out backend.Output) result {
	limit := b.cfg.MaxResponseBytes
	data, err := readAll(body, limit+1, size)
	if err != nil {
		return b.broken(ctx, actx, r, fmt.Errorf("reading the answer: %w", err))
	}
	if int64(len(data)) > limit {
		// Another replica would send the same: no retry.
		return result{err: fmt.Errorf("upstream %s: %s: answer over %d bytes", b.cfg.Name, r.root, limit), outcome: failure}
	}
	if !json.Valid(data) || !isObject(data) {
		return result{err: fmt.Errorf("%s: the answer is not a JSON object", r.root), outcome: failure, retry: true}
	}
	if toBase64 {
		if data, err = encodeEmbeddings(data); err != nil {
			return result{err: fmt.Errorf("%s: %w", r.root, err), outcome: failure, retry: true}
		}
	}
	u, ok := parseUsage(lookup(data, "usage"))
	if !ok {
		b.noUsage(r)
	}
	out.Usage(u)
	if err := out.Data(data); err != nil {
		return result{err: err, outcome: neutral}
	}
	return result{outcome: success}
}

// relayStream relays the events of a streamed answer: it reports the usage,
// hides the usage chunk (and usage fields) from a client that did not ask
// for them, and stops at [DONE].
func (b *Backend) relayStream(ctx, actx context.Context, cancel context.CancelCauseFunc, firstByte *time.Timer, r *replica, req *backend.Request, body io.Reader, out backend.Output) result {
	rd := openai.NewReader(body)
	var (
		idle     *time.Timer
		usage    openai.Usage
		hasUsage bool
		upErr    error // an error event the upstream sent
		sent     int   // events that reached out.Data
	)
	// cut ends a stream that broke off.
	cut := func(err error) result {
		if ctx.Err() != nil {
			return result{err: ctx.Err(), outcome: neutral}
		}
		if cause := context.Cause(actx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		if sent == 0 {
			return result{err: fmt.Errorf("%s: stream: %w", r.root, err), outcome: failure, retry: true}
		}
		if hasUsage {
			out.Usage(usage)
		}
		if upErr != nil {
			return result{err: upErr, outcome: failure} // the client has its error event
		}
		out.Data(earlyEnd) // the client may be gone too; nothing to do then
		return result{err: fmt.Errorf("upstream %s: %s: %w after %d events: %w", b.cfg.Name, r.root, ErrStreamCut, sent, err), outcome: failure}
	}
	// gone ends a stream whose client went away.
	gone := func(err error) result {
		if hasUsage {
			out.Usage(usage)
		}
		return result{err: err, outcome: neutral}
	}
	for {
		payload, err := rd.Next()
		if err == io.EOF && rd.SawDone() {
			break
		}
		if err == io.EOF {
			err = errors.New("the stream ended without [DONE]")
		}
		if err != nil {
			return cut(err)
		}
		// From the first event on, the idle timeout replaces the
		// first-byte timeout. A timer that already fired has cancelled
		// the attempt.
		if idle == nil {
			if !firstByte.Stop() {
				return cut(errFirstByte)
			}
			idle = time.AfterFunc(b.cfg.IdleTimeout, func() { cancel(errIdle) })
			defer idle.Stop()
		} else if !idle.Reset(b.cfg.IdleTimeout) {
			return cut(errIdle)
		}
		if !json.Valid(payload) {
			return cut(errors.New("an event is not valid JSON"))
		}
		var choices, usageVal, errVal []byte
		hasUsageKey := false
		ok := scanObject(payload, func(m member) bool {
			switch m.name {
			case "choices":
				choices = payload[m.val:m.end]
			case "usage":
				usageVal, hasUsageKey = payload[m.val:m.end], true
			case "error":
				errVal = payload[m.val:m.end]
			}
			return true
		})
		if !ok {
			return cut(errors.New("an event is not a JSON object"))
		}
		if !isNull(errVal) {
			var e openai.APIError
			msg := string(errVal)
			if json.Unmarshal(errVal, &e) == nil && e.Message != "" {
				msg = e.Message
			}
			upErr = fmt.Errorf("upstream %s: %s: %w: %s", b.cfg.Name, r.root, ErrStreamError, msg)
			if err := out.Data(payload); err != nil {
				return gone(err)
			}
			sent++
			continue
		}
		if !isNull(usageVal) {
			if u, ok := parseUsage(usageVal); ok {
				usage, hasUsage = u, true
			}
		}
		if !isNull(usageVal) && (isNull(choices) || isEmptyArray(choices)) {
			// The usage-only chunk.
			if !req.IncludeUsage {
				continue
			}
		} else if hasUsageKey && !req.IncludeUsage {
			payload = without(payload, "usage")
		}
		if err := out.Data(payload); err != nil {
			return gone(err)
		}
		sent++
	}
	if !hasUsage {
		b.noUsage(r)
	}
	out.Usage(usage)
	if upErr != nil {
		return result{err: upErr, outcome: failure}
	}
	return result{outcome: success}
}

// isObject reports whether the JSON text v is an object.
func isObject(v []byte) bool {
	i := skipSpace(v, 0)
	return i < len(v) && v[i] == '{'
}

// parseUsage decodes a usage value; it reports false for a missing, null
// or malformed one.
//
// It reads only the fields openai.Usage has, with the rules json.Unmarshal
// would apply to them (integers or null; other fields ignored), without
// reflection: it runs for every answer.
func parseUsage(v []byte) (openai.Usage, bool) {
	var u openai.Usage
	if isNull(v) {
		return u, false
	}
	ok := true
	count := func(raw []byte, dst *int) {
		if isNull(raw) {
			return
		}
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			ok = false
		}
		*dst = n
	}
	if !scanObject(v, func(m member) bool {
		raw := v[m.val:m.end]
		// Names match case-insensitively, as json.Unmarshal matches them.
		switch name := m.name; {
		case strings.EqualFold(name, "prompt_tokens"):
			count(raw, &u.PromptTokens)
		case strings.EqualFold(name, "completion_tokens"):
			count(raw, &u.CompletionTokens)
		case strings.EqualFold(name, "total_tokens"):
			count(raw, &u.TotalTokens)
		case strings.EqualFold(name, "prompt_tokens_details"):
			if isNull(raw) {
				return ok
			}
			var d openai.PromptTokensDetails
			if !scanObject(raw, func(m member) bool {
				if strings.EqualFold(m.name, "cached_tokens") {
					count(raw[m.val:m.end], &d.CachedTokens)
				}
				return ok
			}) {
				ok = false
			}
			u.PromptTokensDetails = &d
		}
		return ok
	}) || !ok {
		return openai.Usage{}, false
	}
	return u, true
}

// noUsage logs, once per backend, that an upstream answer carried no usage.
func (b *Backend) noUsage(r *replica) {
	if b.warnedNoUsage.CompareAndSwap(false, true) {
		b.log.Warn("upstream answer carried no usage; reporting zero tokens (further occurrences are logged at debug level)", "replica", r.root)
		return
	}
	b.log.Debug("upstream answer carried no usage", "replica", r.root)
}

// encodeEmbeddings rewrites an embeddings answer's vectors as base64.
func encodeEmbeddings(body []byte) ([]byte, error) {
	var resp openai.EmbeddingResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("embeddings answer: %w", err)
	}
	for i := range resp.Data {
		resp.Data[i].Format = openai.EncodingBase64
	}
	data, err := json.Marshal(resp.Data)
	if err != nil {
		return nil, fmt.Errorf("embeddings answer: %w", err)
	}
	out, ok := with(body, "data", data)
	if !ok {
		return nil, errors.New("embeddings answer is not a JSON object")
	}
	return out, nil
}

// readAll reads r up to limit bytes. size, when positive, is the expected
// length (a Content-Length), used to allocate once; it is not trusted
// beyond limit.
func readAll(r io.Reader, limit, size int64) ([]byte, error) {
	if size <= 0 || size >= limit {
		return io.ReadAll(io.LimitReader(r, limit))
	}
	buf := make([]byte, 0, size+1) // +1: EOF needs no second allocation
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			// Longer than announced: carry on, still bounded.
			rest, err := io.ReadAll(io.LimitReader(r, limit-int64(len(buf))))
			return append(buf, rest...), err
		}
	}
}
