package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// Error types, as OpenAI names them.
const (
	TypeInvalidRequest    = "invalid_request_error"
	TypeAuthentication    = "authentication_error"
	TypePermission        = "permission_error"
	TypeRateLimit         = "rate_limit_error"
	TypeInsufficientQuota = "insufficient_quota"
	TypeServer            = "server_error"
)

// Error codes the gateway uses.
const (
	CodeInvalidAPIKey         = "invalid_api_key"
	CodeModelNotFound         = "model_not_found"
	CodeRateLimitExceeded     = "rate_limit_exceeded"
	CodeInsufficientQuota     = "insufficient_quota"
	CodeContextLengthExceeded = "context_length_exceeded"
)

// APIError is an error a client sees, in OpenAI's shape:
// {"error":{"message":...,"type":...,"param":...,"code":...}}. Param and
// Code marshal as null when nil. Message must be safe to show: it never
// carries internal details.
type APIError struct {
	Status  int     `json:"-"`       // HTTP status; 0 means 500
	Message string  `json:"message"` // what was wrong and what to do
	Type    string  `json:"type"`    // e.g. "invalid_request_error"
	Param   *string `json:"param"`   // the offending parameter as a JSON path, e.g. "messages[2].role"
	Code    *string `json:"code"`    // e.g. "model_not_found"
}

// ErrorBody is the JSON body that carries an APIError.
type ErrorBody struct {
	Error *APIError `json:"error"`
}

func (e *APIError) Error() string {
	if e.Param != nil {
		return fmt.Sprintf("%s (%s)", e.Message, *e.Param)
	}
	return e.Message
}

// HTTPStatus returns Status, or 500 when it is not an error status.
func (e *APIError) HTTPStatus() int {
	if e.Status < 400 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

// ParamName returns the parameter at fault, or "".
func (e *APIError) ParamName() string { return deref(e.Param) }

// CodeName returns the error code, or "".
func (e *APIError) CodeName() string { return deref(e.Code) }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// nullable returns nil for "" and &s otherwise.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// UnmarshalJSON reads an error object. It is lenient, since upstream
// servers differ: a number or other non-string code or param is kept as its
// JSON text. Status is left as it was.
func (e *APIError) UnmarshalJSON(b []byte) error {
	var w struct {
		Message json.RawMessage `json:"message"`
		Type    json.RawMessage `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = APIError{
		Status:  e.Status,
		Message: looseString(w.Message),
		Type:    looseString(w.Type),
		Param:   nullable(looseString(w.Param)),
		Code:    nullable(looseString(w.Code)),
	}
	return nil
}

// looseString returns a JSON string's value, "" for null or absent, and
// the JSON text of anything else (a number code, say).
func looseString(raw json.RawMessage) string {
	switch firstByte(raw) {
	case 0, 'n':
		return ""
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// newError builds an APIError.
func newError(status int, typ, param, code, msg string) *APIError {
	return &APIError{Status: status, Message: msg, Type: typ, Param: nullable(param), Code: nullable(code)}
}

// InvalidRequest returns a 400 invalid_request_error about param (a JSON
// path, or "" when no single parameter is at fault: param null).
func InvalidRequest(param, format string, args ...any) *APIError {
	return newError(http.StatusBadRequest, TypeInvalidRequest, param, "", fmt.Sprintf(format, args...))
}

// Unauthorized returns a 401 authentication_error with code
// "invalid_api_key".
func Unauthorized(msg string) *APIError {
	return newError(http.StatusUnauthorized, TypeAuthentication, "", CodeInvalidAPIKey, msg)
}

// PermissionDenied returns a 403 permission_error.
func PermissionDenied(code, msg string) *APIError {
	return newError(http.StatusForbidden, TypePermission, "", code, msg)
}

// NotFound returns a 404 error; code is e.g. "model_not_found". Its type is
// invalid_request_error, as OpenAI's is.
func NotFound(code, msg string) *APIError {
	return newError(http.StatusNotFound, TypeInvalidRequest, "", code, msg)
}

// RateLimited returns a 429 error. Code is "rate_limit_exceeded" (type
// rate_limit_error) or "insufficient_quota" (type insufficient_quota, as
// OpenAI sends for an exhausted budget).
func RateLimited(code, msg string) *APIError {
	typ := TypeRateLimit
	if code == CodeInsufficientQuota {
		typ = TypeInsufficientQuota
	}
	return newError(http.StatusTooManyRequests, typ, "", code, msg)
}

// ServerError returns a 500 server_error.
func ServerError(msg string) *APIError {
	return newError(http.StatusInternalServerError, TypeServer, "", "", msg)
}

// Unavailable returns a 503 server_error.
func Unavailable(msg string) *APIError {
	return newError(http.StatusServiceUnavailable, TypeServer, "", "", msg)
}

// WriteError writes err to w as an OpenAI error body with its status. An
// error that is not (and does not wrap) an *APIError becomes a generic 500:
// its text is never shown to the client.
func WriteError(w http.ResponseWriter, err error) {
	var e *APIError
	if !errors.As(err, &e) || e == nil {
		e = ServerError("The server had an error while processing your request.")
	}
	if e.Type == "" {
		c := *e
		c.Type = typeForStatus(c.HTTPStatus())
		e = &c
	}
	body, _ := json.Marshal(ErrorBody{Error: e}) // cannot fail: strings only
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(e.HTTPStatus())
	w.Write(append(body, '\n'))
}

// typeForStatus returns the OpenAI error type usual for an HTTP status.
func typeForStatus(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return TypeAuthentication
	case http.StatusForbidden:
		return TypePermission
	case http.StatusTooManyRequests:
		return TypeRateLimit
	}
	if status >= 500 {
		return TypeServer
	}
	return TypeInvalidRequest
}

// maxUpstreamMessage bounds the message ParseError keeps from a body.
const maxUpstreamMessage = 2048

// ParseError reads the error body of an OpenAI-compatible server's answer
// with the given status. It understands OpenAI's {"error":{...}}, the
// {"error":"message"} some servers send, and a bare {"message":...,
// "type":...,"code":...} object (vLLM); for anything else the message is
// the status text. Type is filled in from the status when the body has
// none; the message is cut to 2 KiB.
func ParseError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var w struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &w) == nil {
		switch firstByte(w.Error) {
		case '{':
			if json.Unmarshal(w.Error, e) != nil {
				e.Message = ""
			}
		case '"':
			e.Message = looseString(w.Error)
		case 0, 'n':
			var bare APIError
			if json.Unmarshal(body, &bare) == nil {
				e.Message, e.Type, e.Param, e.Code = bare.Message, bare.Type, bare.Param, bare.Code
			}
		}
	}
	e.Status = status
	if e.Message == "" {
		e.Message = http.StatusText(status)
		if e.Message == "" {
			e.Message = "upstream error " + strconv.Itoa(status)
		}
	}
	if len(e.Message) > maxUpstreamMessage {
		cut := maxUpstreamMessage
		for cut > 0 && !utf8.RuneStart(e.Message[cut]) {
			cut--
		}
		e.Message = e.Message[:cut] + "…"
	}
	if e.Type == "" {
		e.Type = typeForStatus(status)
	}
	return e
}
