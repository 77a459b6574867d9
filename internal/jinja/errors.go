package jinja

import (
	"errors"
	"fmt"
)

// ErrStepBudget is wrapped by a render error when the template used up its
// step budget (Options.MaxSteps): a runaway loop or an expensive
// computation.
var ErrStepBudget = errors.New("template step budget exhausted")

// ErrTooLarge is wrapped by a render error when the output, or any single
// value the template builds, would exceed Options.MaxOutput.
var ErrTooLarge = errors.New("template output or value too large")

// ErrTooDeep is wrapped by an error when nesting goes past a fixed bound:
// macro recursion while rendering, or brackets and blocks while parsing.
var ErrTooDeep = errors.New("template nesting too deep")

// SyntaxError reports a template that does not parse.
type SyntaxError struct {
	Line, Col int // 1-based position in the template source
	Msg       string
	Err       error // ErrTooDeep for nesting past the parser's bounds, else nil
}

func (e *SyntaxError) Unwrap() error { return e.Err }

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("template syntax error at line %d col %d: %s", e.Line, e.Col, e.Msg)
}

// RenderError reports a failure while rendering, at the position of the
// construct that failed. Err is the cause: an *Exception, an
// *UndefinedError, ErrStepBudget, ErrTooLarge, ErrTooDeep, the context's
// error, the error of a host Func, or a plain error describing a type
// mismatch.
type RenderError struct {
	Line, Col int
	Err       error
}

func (e *RenderError) Error() string {
	return fmt.Sprintf("template error at line %d col %d: %v", e.Line, e.Col, e.Err)
}

func (e *RenderError) Unwrap() error { return e.Err }

// Exception is the error a template raises on purpose; a host Func such as
// raise_exception returns it so that callers can show Message to the user.
type Exception struct {
	Message string
}

func (e *Exception) Error() string { return e.Message }

// UndefinedError reports an operation on an undefined value that jinja2
// also refuses, such as an attribute of an undefined name or arithmetic on
// it.
type UndefinedError struct {
	Msg string
}

func (e *UndefinedError) Error() string { return e.Msg }

// RaiseException is a ready-made raise_exception global: it fails the
// render with an *Exception carrying its first argument.
func RaiseException(args []Value, kwargs map[string]Value) (Value, error) {
	msg := ""
	if len(args) > 0 {
		msg = ToString(args[0])
	} else if v, ok := kwargs["message"]; ok {
		msg = ToString(v)
	}
	return nil, &Exception{Message: msg}
}
