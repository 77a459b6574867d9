package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestErrorConstructors(t *testing.T) {
	tests := []struct {
		name   string
		err    *APIError
		status int
		body   string
	}{
		{"invalid request", InvalidRequest("messages[2].role", "Invalid value for %q.", "robot"), 400,
			`{"error":{"message":"Invalid value for \"robot\".","type":"invalid_request_error","param":"messages[2].role","code":null}}`},
		{"invalid request no param", InvalidRequest("", "Bad."), 400,
			`{"error":{"message":"Bad.","type":"invalid_request_error","param":null,"code":null}}`},
		{"unauthorized", Unauthorized("Incorrect API key provided."), 401,
			`{"error":{"message":"Incorrect API key provided.","type":"authentication_error","param":null,"code":"invalid_api_key"}}`},
		{"permission", PermissionDenied("jurisdiction_not_allowed", "No backend in an allowed jurisdiction."), 403,
			`{"error":{"message":"No backend in an allowed jurisdiction.","type":"permission_error","param":null,"code":"jurisdiction_not_allowed"}}`},
		{"not found", NotFound(CodeModelNotFound, "The model `x` does not exist."), 404,
			`{"error":{"message":"The model ` + "`x`" + ` does not exist.","type":"invalid_request_error","param":null,"code":"model_not_found"}}`},
		{"rate limited", RateLimited(CodeRateLimitExceeded, "Slow down."), 429,
			`{"error":{"message":"Slow down.","type":"rate_limit_error","param":null,"code":"rate_limit_exceeded"}}`},
		{"quota", RateLimited(CodeInsufficientQuota, "Budget spent."), 429,
			`{"error":{"message":"Budget spent.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}`},
		{"server", ServerError("Oops."), 500,
			`{"error":{"message":"Oops.","type":"server_error","param":null,"code":null}}`},
		{"unavailable", Unavailable("Overloaded."), 503,
			`{"error":{"message":"Overloaded.","type":"server_error","param":null,"code":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Status != tt.status {
				t.Errorf("status = %d, want %d", tt.err.Status, tt.status)
			}
			b, err := json.Marshal(ErrorBody{Error: tt.err})
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.body {
				t.Errorf("\n got %s\nwant %s", b, tt.body)
			}
			rec := httptest.NewRecorder()
			WriteError(rec, fmt.Errorf("handler: %w", tt.err))
			if rec.Code != tt.status {
				t.Errorf("WriteError status = %d, want %d", rec.Code, tt.status)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tt.body {
				t.Errorf("WriteError body\n got %s\nwant %s", got, tt.body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("content-type = %q", got)
			}
			back := ParseError(tt.status, b)
			if diff := cmp.Diff(tt.err, back); diff != "" {
				t.Errorf("ParseError (-want +got)\n%s", diff)
			}
		})
	}
}

func TestWriteErrorHidesInternals(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"plain error", errors.New("open /secret/path: permission denied"), 500},
		{"nil APIError", (*APIError)(nil), 500},
		{"no status", &APIError{Message: "m"}, 500},
		{"bad status", &APIError{Status: 200, Message: "m"}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tt.err)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("body shows the cause: %s", rec.Body)
			}
			var body ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if body.Error.Type != TypeServer {
				t.Errorf("type = %q, want %q", body.Error.Type, TypeServer)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   *APIError
	}{
		{"openai", 404, `{"error":{"message":"The model does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}`,
			&APIError{Status: 404, Message: "The model does not exist", Type: TypeInvalidRequest, Code: ptr("model_not_found")}},
		{"llama-server numeric code", 400, `{"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}}`,
			&APIError{Status: 400, Message: "the request exceeds the available context size", Type: "exceed_context_size_error", Code: ptr("400")}},
		{"vllm bare", 400, `{"object":"error","message":"max_tokens is too large","type":"BadRequestError","param":null,"code":400}`,
			&APIError{Status: 400, Message: "max_tokens is too large", Type: "BadRequestError", Code: ptr("400")}},
		{"string error", 422, `{"error":"Input validation error: inputs tokens + max_new_tokens must be <= 4096","error_type":"validation"}`,
			&APIError{Status: 422, Message: "Input validation error: inputs tokens + max_new_tokens must be <= 4096", Type: TypeInvalidRequest}},
		{"html", 502, `<html><body>Bad Gateway</body></html>`,
			&APIError{Status: 502, Message: "Bad Gateway", Type: TypeServer}},
		{"empty", 429, ``, &APIError{Status: 429, Message: "Too Many Requests", Type: TypeRateLimit}},
		{"error null", 500, `{"error":null}`, &APIError{Status: 500, Message: "Internal Server Error", Type: TypeServer}},
		{"error number", 503, `{"error":5}`, &APIError{Status: 503, Message: "Service Unavailable", Type: TypeServer}},
		{"unknown status", 599, `{}`, &APIError{Status: 599, Message: "upstream error 599", Type: TypeServer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseError(tt.status, []byte(tt.body))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
	t.Run("long message", func(t *testing.T) {
		msg := strings.Repeat("é", 3000)
		got := ParseError(400, []byte(`{"error":{"message":"`+msg+`"}}`))
		if len(got.Message) > maxUpstreamMessage+len("…") {
			t.Errorf("message is %d bytes", len(got.Message))
		}
		if !strings.HasSuffix(got.Message, "é…") {
			t.Errorf("message cut inside a rune: ...%q", got.Message[len(got.Message)-8:])
		}
	})
}

func TestAPIErrorError(t *testing.T) {
	if got, want := InvalidRequest("n", "only n=1").Error(), "only n=1 (n)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := ServerError("boom").Error(), "boom"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

var _ error = (*APIError)(nil)
