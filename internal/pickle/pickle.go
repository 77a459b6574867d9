// Package pickle emulates the Python pickle machine (protocols 0 to 5)
// without executing anything, to tell what loading a pickle would import
// and call.
//
// It runs every opcode over a symbolic stack and memo: strings, numbers and
// containers are tracked well enough that a STACK_GLOBAL whose module and
// name were pushed as strings, fetched from the memo or duplicated is
// resolved, and one whose operands are anything else (the result of a call,
// bytes, a persistent object) is reported as a dynamic import. It records
// every global referenced, every call site (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ,
// INST, BUILD), persistent ids and extension-registry codes, with byte
// offsets. Several pickles in a row are parsed one after another.
//
// Input is streamed: large byte and string payloads are skipped (by seeking
// when the reader can), never held in memory, and the stack, memo, number of
// values and retained string bytes are capped. Malformed, truncated or
// over-limit input is a *FormatError with the offset of the opcode at fault.
//
// This package must not import, evaluate or call anything named in the
// pickle, must not decide whether an import is safe (that is package
// scan's job) and must never panic on any input.
package pickle

import (
	"errors"
	"fmt"
	"io"
)

// Global is one global a pickle references (GLOBAL, STACK_GLOBAL or INST).
// Repeats of the same module, name and opcode are folded into one Global
// with a Count.
type Global struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Op     Op     `json:"op"`
	// Offset is the byte offset of the first occurrence's opcode.
	Offset int64 `json:"offset"`
	Count  int   `json:"count"`
	// Dynamic is set for a STACK_GLOBAL whose operands were not plain
	// strings, so what it imports is decided only at load time; Module and
	// Name then describe the operands, e.g. "<result of builtins.getattr>".
	Dynamic bool `json:"dynamic,omitempty"`
}

// Call is one call site: REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST or BUILD
// (which calls __setstate__ or sets attributes). Repeats with the same
// opcode and callable are folded into one Call with a Count.
type Call struct {
	Op Op `json:"op"`
	// Known is set when the callable is a global; Module and Name are it.
	Known  bool   `json:"known"`
	Module string `json:"module,omitempty"`
	Name   string `json:"name,omitempty"`
	// Callee describes an unknown callable ("<result of torch.load>",
	// "<extension code 7>").
	Callee string `json:"callee,omitempty"`
	// OnGlobal: a BUILD applied to the imported object itself (a class,
	// function or module), which sets attributes on it.
	OnGlobal bool  `json:"onGlobal,omitempty"`
	Offset   int64 `json:"offset"`
	Count    int   `json:"count"`
}

// PersID is a persistent id (PERSID or BINPERSID): an object the loader's
// persistent_load hook supplies, such as a PyTorch storage.
type PersID struct {
	Offset int64  `json:"offset"`
	Value  *Value `json:"-"`
}

// Ext is an extension-registry reference (EXT1, EXT2, EXT4): a global
// named by a number that is resolved only at load time.
type Ext struct {
	Code   int64 `json:"code"`
	Offset int64 `json:"offset"`
}

// Result is what one or more pickles reference.
type Result struct {
	Pickles  int      `json:"pickles"`  // pickles parsed to their STOP
	Protocol int      `json:"protocol"` // highest PROTO seen
	Globals  []Global `json:"globals"`
	Calls    []Call   `json:"calls"`
	PersIDs  []PersID `json:"-"`
	// PersIDCount counts every persistent id; PersIDs keeps the first
	// maxPersIDs of them.
	PersIDCount int   `json:"persistentIds"`
	Exts        []Ext `json:"exts,omitempty"`
	// Buffers counts NEXT_BUFFER opcodes (out-of-band data, protocol 5).
	Buffers int `json:"buffers,omitempty"`
	// Dropped counts globals and calls not recorded because the lists
	// reached their caps.
	Dropped int `json:"dropped,omitempty"`

	globalIdx map[globalKey]int
	callIdx   map[callKey]int
}

type globalKey struct {
	module, name string
	op           Op
	dynamic      bool
}

type callKey struct {
	op                   Op
	module, name, callee string
	onGlobal             bool
}

// Caps on what a Result keeps.
const (
	maxGlobals = 10000
	maxCalls   = 10000
	maxPersIDs = 1 << 16
	maxExts    = 1024
)

func (r *Result) addGlobal(g Global) {
	k := globalKey{g.Module, g.Name, g.Op, g.Dynamic}
	if i, ok := r.globalIdx[k]; ok {
		r.Globals[i].Count++
		return
	}
	if len(r.Globals) >= maxGlobals {
		r.Dropped++
		return
	}
	if r.globalIdx == nil {
		r.globalIdx = make(map[globalKey]int)
	}
	g.Count = 1
	r.globalIdx[k] = len(r.Globals)
	r.Globals = append(r.Globals, g)
}

func (r *Result) addCall(c Call) {
	k := callKey{c.Op, c.Module, c.Name, c.Callee, c.OnGlobal}
	if i, ok := r.callIdx[k]; ok {
		r.Calls[i].Count++
		return
	}
	if len(r.Calls) >= maxCalls {
		r.Dropped++
		return
	}
	if r.callIdx == nil {
		r.callIdx = make(map[callKey]int)
	}
	c.Count = 1
	r.callIdx[k] = len(r.Calls)
	r.Calls = append(r.Calls, c)
}

// FormatError is malformed, truncated or over-limit input.
type FormatError struct {
	Offset int64 // of the opcode at fault, or of the missing bytes
	Op     Op    // the opcode at fault; 0 when none
	Reason string
	Err    error // underlying cause, e.g. io.ErrUnexpectedEOF
}

func (e *FormatError) Error() string {
	if e.Op != 0 {
		return fmt.Sprintf("pickle: at offset %d (%s): %s", e.Offset, e.Op, e.Reason)
	}
	return fmt.Sprintf("pickle: at offset %d: %s", e.Offset, e.Reason)
}

func (e *FormatError) Unwrap() error { return e.Err }

// Limits bound the emulator's memory. Zero fields take the defaults.
type Limits struct {
	MaxStack       int   // items on the stack plus marks (default 1<<20)
	MaxMemo        int   // memo entries (default 1<<21)
	MaxValues      int   // values created per pickle (default 1<<22)
	MaxStringBytes int64 // string bytes kept per pickle (default 64 MiB)
	// MaxItems is how many items each container keeps for Value.Items
	// (default 64); Len still counts them all.
	MaxItems int
}

func (l Limits) withDefaults() Limits {
	if l.MaxStack <= 0 {
		l.MaxStack = 1 << 20
	}
	if l.MaxMemo <= 0 {
		l.MaxMemo = 1 << 21
	}
	if l.MaxValues <= 0 {
		l.MaxValues = 1 << 22
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = 64 << 20
	}
	if l.MaxItems <= 0 {
		l.MaxItems = defaultMaxItems
	}
	return l
}

// Options configure a Scanner.
type Options struct {
	// Size is the number of bytes the reader holds, or -1 when unknown
	// (then an io.Seeker reader is asked). Lengths are checked against
	// what is left before anything is skipped or kept.
	Size int64
	// BaseOffset is added to every reported offset: the position of the
	// reader's first byte in the enclosing file.
	BaseOffset int64
	// Joblib follows joblib's format: after BUILD of a
	// joblib.numpy_pickle.NumpyArrayWrapper the array bytes (or, for
	// object arrays, a nested pickle) follow in the stream.
	Joblib bool
	Limits Limits
}

// Scanner parses pickles one after another from a stream.
type Scanner struct {
	rd     *reader
	opts   Options
	lim    Limits
	res    Result
	nested int
}

// NewScanner returns a Scanner reading from r.
func NewScanner(r io.Reader, opts Options) *Scanner {
	s := &Scanner{opts: opts, lim: opts.Limits.withDefaults()}
	s.rd = newReader(r, opts.Size, opts.BaseOffset)
	return s
}

// Next parses one pickle to its STOP and returns the value it would load
// (symbolically). At the end of the input it returns io.EOF; input that
// ends inside a pickle, or is malformed, is a *FormatError.
func (s *Scanner) Next() (*Value, error) {
	if _, err := s.rd.peek(); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, s.rd.ioError(err)
	}
	m := newMachine(s)
	v, err := m.run()
	if err != nil {
		return nil, err
	}
	s.res.Pickles++
	return v, nil
}

// Result returns what the pickles parsed so far reference.
func (s *Scanner) Result() *Result { return &s.res }

// Offset returns the offset of the next unread byte.
func (s *Scanner) Offset() int64 { return s.rd.offset() }

// ReadFull reads len(b) raw bytes that follow a pickle (a legacy PyTorch
// storage header, say).
func (s *Scanner) ReadFull(b []byte) error {
	if err := s.rd.readFull(b); err != nil {
		return s.rd.ioError(err)
	}
	return nil
}

// Skip discards n raw bytes, seeking when the reader allows.
func (s *Scanner) Skip(n int64) error {
	if err := s.rd.skip(n); err != nil {
		return s.rd.ioError(err)
	}
	return nil
}

// AtEOF reports whether the input is exhausted.
func (s *Scanner) AtEOF() (bool, error) {
	_, err := s.rd.peek()
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	if err != nil {
		return false, s.rd.ioError(err)
	}
	return false, nil
}

// Scan parses every pickle in r until the end of the input.
func Scan(r io.Reader, opts Options) (*Result, error) {
	s := NewScanner(r, opts)
	for {
		if _, err := s.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return s.Result(), nil
			}
			return s.Result(), err
		}
	}
}
