package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"sov.dev/sov/internal/backend"
	"sov.dev/sov/internal/keys"
	"sov.dev/sov/internal/limits"
	"sov.dev/sov/internal/openai"
)

// decoded is a validated inference request plus what the gateway needs to
// know about it before routing.
type decoded struct {
	req      *backend.Request
	estimate int64 // tokens the request may use, reserved against limits
}

type decodeFunc func(body []byte) (*decoded, error)

func handleChat(body []byte) (*decoded, error) {
	c, err := openai.DecodeChatCompletionRequest(body)
	if err != nil {
		return nil, err
	}
	r := &backend.Request{Endpoint: backend.Chat, Model: c.Model, Body: body, Chat: c, Stream: c.Stream,
		IncludeUsage: c.Stream && c.StreamOptions != nil && c.StreamOptions.IncludeUsage}
	return &decoded{req: r, estimate: limits.EstimateTokens(len(body), c.MaxOutputTokens())}, nil
}

func handleCompletion(body []byte) (*decoded, error) {
	c, err := openai.DecodeCompletionRequest(body)
	if err != nil {
		return nil, err
	}
	maxOut := 16 // OpenAI's default for completions
	if c.MaxTokens != nil {
		maxOut = *c.MaxTokens
	}
	r := &backend.Request{Endpoint: backend.Completion, Model: c.Model, Body: body, Completion: c, Stream: c.Stream,
		IncludeUsage: c.Stream && c.StreamOptions != nil && c.StreamOptions.IncludeUsage}
	return &decoded{req: r, estimate: limits.EstimateTokens(len(body), maxOut)}, nil
}

func handleEmbedding(body []byte) (*decoded, error) {
	e, err := openai.DecodeEmbeddingRequest(body)
	if err != nil {
		return nil, err
	}
	r := &backend.Request{Endpoint: backend.Embedding, Model: e.Model, Body: body, Embedding: e}
	return &decoded{req: r, estimate: limits.EstimateTokens(len(body), 1)}, nil // no completion
}

// inference serves one of the OpenAI inference endpoints: authenticate,
// read and validate the body, check the key's models, residency and
// limits, then try the backends in turn until one answers.
func (s *Server) inference(ep backend.Endpoint, decode decodeFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.inflight.Add(1)
		defer s.inflight.Done()
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec()
		rec := &record{start: time.Now(), remote: r.RemoteAddr, requestID: requestID(w), endpoint: string(ep)}
		var out *clientOutput // set once a backend may write
		defer func() {
			if rec.status == 0 {
				// Only a panic leaves without a status.
				rec.status, rec.errText = http.StatusInternalServerError, "panic (see the log)"
				if out != nil && out.started {
					// The answer has begun: an error body would be
					// appended to it (raw JSON in an event stream).
					// Log the panic and drop the connection instead.
					v := recover()
					if v != http.ErrAbortHandler {
						s.log.Error("panic serving request after its answer began; closing the connection",
							"request_id", rec.requestID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					}
					s.finish(rec)
					panic(http.ErrAbortHandler)
				}
				// Before that, withRecover answers with a 500.
			}
			s.finish(rec)
		}()

		k, aerr := s.authenticate(r, false)
		if aerr != nil {
			rec.fail(aerr, "denied:auth")
			writeError(w, r, aerr)
			return
		}
		rec.key = k
		body, err := readBody(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes), r.ContentLength, s.opts.MaxBodyBytes)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				aerr = apiError(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "",
					"The request body is larger than this server accepts ("+strconv.FormatInt(mbe.Limit, 10)+" bytes).")
			} else {
				aerr = apiError(http.StatusBadRequest, "invalid_request_error", "", "", "Could not read the request body.")
			}
			rec.fail(aerr, "denied:invalid")
			writeError(w, r, aerr)
			return
		}
		d, err := decode(body)
		if err != nil {
			rec.fail(err, "denied:invalid")
			writeError(w, r, err)
			return
		}
		req := d.req
		rec.model = req.Model
		if s.opts.LogContent {
			rec.request = body
		}
		if !k.AllowsModel(req.Model) {
			aerr = apiError(http.StatusForbidden, "permission_error", "model_not_allowed", "model",
				"The key "+k.Name+" may not use the model "+strconv.Quote(req.Model)+".")
			rec.fail(aerr, "denied:model")
			writeError(w, r, aerr)
			return
		}
		allowed := s.jurisdictions(k)
		candidates, rerr := s.router.route(r.Context(), req.Model, allowed)
		if rerr != nil {
			typ := "invalid_request_error"
			if rerr.status == http.StatusForbidden {
				typ = "permission_error"
			}
			aerr = apiError(rerr.status, typ, rerr.code, "model", rerr.message)
			decision := "denied:unknown_model"
			if rerr.status == http.StatusForbidden {
				decision = "denied:residency"
			}
			rec.fail(aerr, decision)
			writeError(w, r, aerr)
			return
		}
		rec.routed = true
		release, denial := s.opts.Admit(k, d.estimate)
		if denial != nil {
			switch denial.Limit {
			case limits.Revoked:
				// Revoked between authentication and admission: the key is
				// no longer valid, as the next request will be told.
				aerr = apiError(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "", "Incorrect API key provided.")
			case limits.Budget:
				aerr = apiError(http.StatusTooManyRequests, "insufficient_quota", "insufficient_quota", "", denial.Message) // as OpenAI sends it
				retryAfter(w, denial.RetryAfter, denial.Retry)
			default:
				aerr = apiError(http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", "", denial.Message)
				retryAfter(w, denial.RetryAfter, denial.Retry)
			}
			rec.fail(aerr, "denied:"+string(denial.Limit))
			writeError(w, r, aerr)
			return
		}
		var usage openai.Usage
		defer func() { release(int64(usage.TotalTokens)) }()

		req.RequestID = rec.requestID
		req.KeyID = k.ID
		req.Tenant = k.Tenant
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
		defer cancel()
		out = &clientOutput{w: w, rc: http.NewResponseController(w), stream: req.Stream, start: rec.start,
			keep: s.opts.LogContent, writeTimeout: s.opts.RequestTimeout}
		if req.Stream {
			out.writeTimeout = s.opts.StreamWriteTimeout
		}
		for _, b := range candidates {
			rec.backend = b.Name()
			err = b.Do(ctx, req, out)
			if err == nil || out.started || !errors.Is(err, backend.ErrUnavailable) {
				break
			}
			s.log.Warn("backend unavailable; trying the next", "request_id", rec.requestID, "backend", b.Name(), "err", err)
		}
		usage = out.usage
		rec.usage = out.usage
		rec.ttft = out.ttft
		rec.response = out.kept.Bytes()
		switch {
		case err == nil:
			if req.Stream {
				out.done()
			}
			rec.status = http.StatusOK
			rec.decision = "allowed"
		case out.started:
			// The answer had begun: the status line is gone. Tell a
			// streaming client in the stream, then stop.
			rec.status = http.StatusOK
			rec.decision = "allowed"
			rec.errText = err.Error()
			if ctx.Err() != nil && r.Context().Err() != nil {
				rec.status = 499 // the client went away
				rec.errText = "client disconnected"
				return
			}
			if req.Stream && !out.sawError {
				out.event(errorEvent(err))
			}
		case r.Context().Err() != nil:
			rec.status = 499
			rec.decision = "allowed"
			rec.errText = "client disconnected"
		default:
			var ae *openai.APIError
			switch {
			case errors.As(err, &ae):
			case errors.Is(err, context.DeadlineExceeded):
				ae = apiError(http.StatusGatewayTimeout, "server_error", "timeout", "", "The request took longer than this server allows.")
			case errors.Is(err, backend.ErrUnavailable):
				ae = apiError(http.StatusServiceUnavailable, "server_error", "backend_unavailable", "",
					"No backend could answer for the model "+strconv.Quote(req.Model)+" right now; try again shortly.")
				retryAfter(w, 2*time.Second, true)
			case errors.Is(err, backend.ErrUnknownModel):
				ae = apiError(http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
					"The model "+strconv.Quote(req.Model)+" does not exist or is not served here.")
			default:
				s.log.Error("backend error", "request_id", rec.requestID, "backend", rec.backend, "err", err)
				ae = apiError(http.StatusInternalServerError, "server_error", "", "", "The server had an error while processing your request.")
			}
			rec.fail(err, "allowed")
			rec.status = ae.HTTPStatus() // what the client is told, not err's
			writeError(w, r, ae)
		}
	})
}

// jurisdictions is where a key's requests may be processed: the
// intersection of the key's own list and its tenant's (nil: anywhere).
func (s *Server) jurisdictions(k *keys.Key) []string {
	var own []string
	if len(k.Jurisdictions) > 0 {
		own = k.Jurisdictions
	}
	t, ok := s.opts.Tenants[k.Tenant]
	if ok && len(t) > 0 {
		return intersect(own, t)
	}
	return own
}

func errorEvent(err error) []byte {
	msg := "The backend failed while answering."
	var ae *openai.APIError
	if errors.As(err, &ae) {
		msg = ae.Message
	} else if errors.Is(err, context.DeadlineExceeded) {
		msg = "The request took longer than this server allows."
	}
	b, _ := json.Marshal(openai.ErrorBody{Error: openai.ServerError(msg)}) // strings only: cannot fail
	return b
}

// clientOutput writes a backend's answer to the client: server-sent events
// for a stream, one JSON body otherwise.
//
// Every write has a deadline, so that a client that stops reading cannot
// hold a handler (and its backend) forever: a non-streamed body must be
// written within writeTimeout of its start, each event of a stream within
// writeTimeout of its own start. A write past its deadline fails, which
// tells the backend the client has gone.
type clientOutput struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	stream       bool
	writeTimeout time.Duration
	start        time.Time
	started      bool
	sawError     bool
	ttft         time.Duration
	usage        openai.Usage
	keep         bool // keep the answer for the audit log
	kept         bytes.Buffer
	sse          *openai.Writer // the event framing, for a stream
}

var _ backend.Output = (*clientOutput)(nil)

func (o *clientOutput) begin(size int) {
	o.started = true
	o.ttft = time.Since(o.start)
	h := o.w.Header()
	if o.stream {
		openai.WriteHeaders(h)
		o.sse = openai.NewWriter(o.w)
	} else {
		h["Content-Type"] = applicationJSON
		// The length lets the body be flushed at once, ahead of the
		// audit and metrics work, with the same framing Go would choose
		// for a small body written whole.
		h["Content-Length"] = []string{strconv.Itoa(size)}
	}
	o.w.WriteHeader(http.StatusOK)
}

// applicationJSON is a header value, shared (the server only reads it).
var applicationJSON = []string{"application/json"}

// setDeadline bounds the next write. The deadline also covers what
// net/http writes after the handler returns (the end of a chunked
// stream); net/http then clears it before the connection carries another
// request.
func (o *clientOutput) setDeadline() {
	if o.writeTimeout > 0 {
		o.rc.SetWriteDeadline(time.Now().Add(o.writeTimeout)) // unsupported: no deadline
	}
}

func (o *clientOutput) Data(p []byte) error {
	first := !o.started
	if first {
		if !o.stream {
			o.setDeadline() // event sets its own
		}
		o.begin(len(p))
	}
	if o.keep {
		o.kept.Write(p)
		o.kept.WriteByte('\n')
	}
	if !o.stream {
		if _, err := o.w.Write(p); err != nil {
			return err
		}
		if first {
			return o.rc.Flush()
		}
		return nil
	}
	if bytes.HasPrefix(p, []byte(`{"error"`)) {
		o.sawError = true
	}
	return o.event(p)
}

// event writes one event of a stream that has begun.
func (o *clientOutput) event(p []byte) error {
	o.setDeadline() // a rolling deadline: each event gets its own
	return o.sse.Event(p)
}

func (o *clientOutput) done() {
	if !o.started {
		o.begin(0) // a stream without events still gets its headers
	}
	o.setDeadline()
	o.sse.Done()
}

func (o *clientOutput) Usage(u openai.Usage) { o.usage = u }

// readBody reads a request body of at most limit bytes, whose length the
// client announced as size (-1: unknown), allocating once when it is known.
func readBody(r io.Reader, size, limit int64) ([]byte, error) {
	if size <= 0 || size > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, size+1) // +1: the read that sees EOF needs no room
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
			// More than announced (only a non-HTTP/1 caller can do that):
			// carry on, still bounded by r.
			rest, err := io.ReadAll(r)
			return append(buf, rest...), err
		}
	}
}
