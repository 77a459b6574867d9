package pickle_test

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/pickle"
	"sov.dev/sov/internal/pickle/pickletest"
)

type P = pickle.Op

func scan(t *testing.T, b []byte, opts pickle.Options) (*pickle.Result, error) {
	t.Helper()
	opts.Size = int64(len(b))
	return pickle.Scan(bytes.NewReader(b), opts)
}

// g is a global as the tests compare them: module.name@op (dynamic ones
// prefixed with "dyn:").
func globals(r *pickle.Result) []string {
	var out []string
	for _, g := range r.Globals {
		s := g.Module + "." + g.Name + "@" + g.Op.String()
		if g.Dynamic {
			s = "dyn:" + s
		}
		out = append(out, s)
	}
	return out
}

func TestGlobals(t *testing.T) {
	b := pickletest.New
	tests := []struct {
		name string
		in   []byte
		want []string
	}{
		{"GLOBAL", b().Global("os", "system").Call("id").Stop().Bytes(),
			[]string{"os.system@GLOBAL"}},
		{"STACK_GLOBAL on the stack", b().Proto(4).StackGlobal("os", "system").Call("id").Stop().Bytes(),
			[]string{"os.system@STACK_GLOBAL"}},
		{"STACK_GLOBAL from the memo (BINPUT/BINGET)", b().Proto(4).Str("subprocess").Put(0).Str("Popen").Put(7).
			Op(P('0'), P('0')).Get(0).Get(7).Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"subprocess.Popen@STACK_GLOBAL"}},
		{"STACK_GLOBAL from the memo (MEMOIZE)", b().Proto(4).Str("x").Op(pickle.MEMOIZE, pickle.POP).
			Str("builtins").Op(pickle.MEMOIZE).Str("eval").Op(pickle.MEMOIZE, pickle.POP, pickle.POP).
			Get(1).Get(2).Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"builtins.eval@STACK_GLOBAL"}},
		{"STACK_GLOBAL from the memo (LONG_BINPUT/LONG_BINGET)", b().Proto(4).Str("os").Put(1000).Op(pickle.POP).
			Get(1000).Str("popen").Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"os.popen@STACK_GLOBAL"}},
		{"STACK_GLOBAL of a string memoised inside a tuple", b().Proto(4).Op(pickle.MARK).Str("runpy").Put(3).
			Str("a").Op(pickle.TUPLE, pickle.POP).Get(3).Str("run_path").Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"runpy.run_path@STACK_GLOBAL"}},
		{"STACK_GLOBAL after DUP", b().Proto(4).Str("os").Op(pickle.DUP, pickle.POP).Str("system").
			Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"os.system@STACK_GLOBAL"}},
		{"protocol 0 STRING escapes", b().String0(`'o\x73'`).String0(`"sy\163tem"`).Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"os.system@STACK_GLOBAL"}},
		{"protocol 0 UNICODE escapes", b().Unicode0(`o\u0073`).Unicode0(`sys\U00000074em`).Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"os.system@STACK_GLOBAL"}},
		{"SHORT_BINSTRING operands", b().ShortBinString("os").ShortBinString("system").Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"os.system@STACK_GLOBAL"}},
		{"INST", b().Op(pickle.MARK).Str("id").Inst("os", "system").Stop().Bytes(),
			[]string{"os.system@INST"}},
		{"dynamic: the result of a call", b().Proto(4).Global("builtins", "getattr").Call("a", "b").
			Str("system").Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"builtins.getattr@GLOBAL", "dyn:<result of builtins.getattr>.system@STACK_GLOBAL"}},
		{"dynamic: bytes operands", b().Proto(4).Raw(byte(pickle.SHORT_BINBYTES), 2, 'o', 's').Str("system").
			Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			[]string{"dyn:<bytes>.system@STACK_GLOBAL"}},
		{"several pickles in a row", append(b().Global("collections", "OrderedDict").Stop().Bytes(),
			b().Proto(2).Global("posix", "system").Stop().Bytes()...),
			[]string{"collections.OrderedDict@GLOBAL", "posix.system@GLOBAL"}},
		{"framed", b().Proto(4).Frame(14).StackGlobal("os", "system").Stop().Bytes(),
			[]string{"os.system@STACK_GLOBAL"}},
		{"repeats fold", b().Proto(2).Global("a", "b").Op(pickle.POP).Global("a", "b").Stop().Bytes(),
			[]string{"a.b@GLOBAL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := scan(t, tt.in, pickle.Options{})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if diff := cmp.Diff(tt.want, globals(r)); diff != "" {
				t.Errorf("globals (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCalls(t *testing.T) {
	b := pickletest.New
	type call struct {
		Op       string
		Known    bool
		Callee   string
		OnGlobal bool
	}
	tests := []struct {
		name string
		in   []byte
		want []call
	}{
		{"REDUCE", b().Global("os", "system").Call("id").Stop().Bytes(),
			[]call{{"REDUCE", true, "os.system", false}}},
		{"REDUCE chain", b().Proto(2).Global("builtins", "getattr").Call("x", "y").Call("id").Stop().Bytes(),
			[]call{{"REDUCE", true, "builtins.getattr", false}, {"REDUCE", false, "<result of builtins.getattr>", false}}},
		{"NEWOBJ", b().Proto(2).Global("subprocess", "Popen").Op(pickle.EMPTY_TUPLE, pickle.NEWOBJ).Stop().Bytes(),
			[]call{{"NEWOBJ", true, "subprocess.Popen", false}}},
		{"NEWOBJ_EX", b().Proto(4).StackGlobal("subprocess", "Popen").Op(pickle.EMPTY_TUPLE, pickle.EMPTY_DICT, pickle.NEWOBJ_EX).Stop().Bytes(),
			[]call{{"NEWOBJ_EX", true, "subprocess.Popen", false}}},
		{"OBJ", b().Op(pickle.MARK).Global("os", "system").Str("id").Op(pickle.OBJ).Stop().Bytes(),
			[]call{{"OBJ", true, "os.system", false}}},
		{"INST", b().Op(pickle.MARK).Str("id").Inst("os", "system").Stop().Bytes(),
			[]call{{"INST", true, "os.system", false}}},
		{"BUILD with __setstate__", b().Proto(2).Global("torch.nn", "Module").Op(pickle.EMPTY_TUPLE, pickle.NEWOBJ).
			Op(pickle.EMPTY_DICT, pickle.BUILD).Stop().Bytes(),
			[]call{{"NEWOBJ", true, "torch.nn.Module", false}, {"BUILD", true, "torch.nn.Module", false}}},
		{"BUILD on a global", b().Proto(2).Global("collections", "OrderedDict").Op(pickle.NONE).
			Op(pickle.EMPTY_DICT).Str("__reduce__").Global("os", "system").Op(pickle.SETITEM, pickle.TUPLE2, pickle.BUILD).Stop().Bytes(),
			[]call{{"BUILD", true, "collections.OrderedDict", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := scan(t, tt.in, pickle.Options{})
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			var got []call
			for _, c := range r.Calls {
				callee := c.Callee
				if c.Known {
					callee = c.Module + "." + c.Name
				}
				got = append(got, call{c.Op.String(), c.Known, callee, c.OnGlobal})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPersistentIDsAndExtensions(t *testing.T) {
	in := pickletest.New().Proto(2).Op(pickle.MARK).
		Op(pickle.MARK).BinUnicode("storage").Global("torch", "FloatStorage").BinUnicode("0").BinUnicode("cpu").Int(6).
		Op(pickle.TUPLE, pickle.BINPERSID).
		Raw(byte(pickle.PERSID)).Raw([]byte("legacy-id\n")...).
		Raw(byte(pickle.EXT1), 7).Raw(byte(pickle.EXT2), 1, 1).Raw(byte(pickle.EXT4), 0, 0, 0, 1).
		Op(pickle.LIST).Stop().Bytes()
	r, err := scan(t, in, pickle.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.PersIDCount != 2 {
		t.Errorf("PersIDCount = %d, want 2", r.PersIDCount)
	}
	if got, want := r.PersIDs[0].Value.String(), `("storage", torch.FloatStorage, "0", "cpu", 6)`; got != want {
		t.Errorf("first pid = %s, want %s", got, want)
	}
	if got, want := r.PersIDs[1].Value.String(), `"legacy-id"`; got != want {
		t.Errorf("second pid = %s, want %s", got, want)
	}
	var codes []int64
	for _, e := range r.Exts {
		codes = append(codes, e.Code)
	}
	if diff := cmp.Diff([]int64{7, 257, 1 << 24}, codes); diff != "" {
		t.Errorf("ext codes (-want +got):\n%s", diff)
	}
}

// TestEveryOpcode parses a pickle that uses every opcode of protocols 0–5.
func TestEveryOpcode(t *testing.T) {
	p := pickletest.New().Proto(5).Frame(0).Op(pickle.MARK)
	p.Raw([]byte("F1.5\n")...).Raw(byte(pickle.BINFLOAT), 0, 0, 0, 0, 0, 0, 0, 0)
	p.Int0(12).Raw([]byte("I01\nI00\nL123L\n")...).Int(-5).Int(300).Int(70000).Int(1 << 40)
	p.Raw(byte(pickle.LONG4), 2, 0, 0, 0, 1, 2).Op(pickle.NONE, pickle.NEWTRUE, pickle.NEWFALSE)
	p.String0(`'a\'b'`).Raw(byte(pickle.BINSTRING), 1, 0, 0, 0, 'x').ShortBinString("y")
	p.Unicode0(`caf\xe9`).BinUnicode("u").Str("v").Raw(byte(pickle.BINUNICODE8), 1, 0, 0, 0, 0, 0, 0, 0, 'w')
	p.Raw(byte(pickle.BINBYTES), 1, 0, 0, 0, 'b').Raw(byte(pickle.SHORT_BINBYTES), 1, 'c').BinBytes8(2, 2)
	p.Raw(byte(pickle.BYTEARRAY8), 1, 0, 0, 0, 0, 0, 0, 0, 'd').Op(pickle.NEXT_BUFFER, pickle.READONLY_BUFFER)
	p.Op(pickle.EMPTY_LIST).Int(1).Op(pickle.APPEND).Op(pickle.MARK).Int(2).Op(pickle.APPENDS)
	p.Op(pickle.EMPTY_DICT).Int(1).Int(2).Op(pickle.SETITEM).Op(pickle.MARK).Int(3).Int(4).Op(pickle.SETITEMS)
	p.Op(pickle.EMPTY_SET).Op(pickle.MARK).Int(5).Op(pickle.ADDITEMS).Op(pickle.MARK).Int(6).Op(pickle.FROZENSET)
	p.Op(pickle.MARK).Op(pickle.LIST).Op(pickle.MARK).Op(pickle.DICT).Op(pickle.EMPTY_TUPLE)
	p.Int(1).Op(pickle.TUPLE1).Int(1).Int(2).Op(pickle.TUPLE2).Int(1).Int(2).Int(3).Op(pickle.TUPLE3)
	p.Raw([]byte("p9\ng9\n")...).Put(1).Get(1).Put(300).Get(300).Op(pickle.MEMOIZE).Op(pickle.DUP, pickle.POP)
	p.Op(pickle.MARK).Int(1).Op(pickle.POP_MARK)
	p.Global("collections", "OrderedDict").Op(pickle.EMPTY_TUPLE, pickle.REDUCE)
	p.Global("collections", "OrderedDict").Op(pickle.EMPTY_TUPLE, pickle.NEWOBJ)
	p.StackGlobal("collections", "OrderedDict").Op(pickle.EMPTY_TUPLE, pickle.EMPTY_DICT, pickle.NEWOBJ_EX)
	p.Op(pickle.EMPTY_DICT, pickle.BUILD)
	p.Op(pickle.MARK).Global("collections", "OrderedDict").Op(pickle.OBJ)
	p.Op(pickle.MARK).Inst("collections", "OrderedDict")
	p.Raw([]byte("Pid\n")...).Int(1).Op(pickle.BINPERSID).Raw(byte(pickle.EXT1), 1)
	p.Raw(byte(pickle.EXT2), 1, 0).Raw(byte(pickle.EXT4), 1, 0, 0, 0)
	p.Op(pickle.TUPLE).Stop()
	r, err := scan(t, p.Bytes(), pickle.Options{})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if r.Pickles != 1 || r.Protocol != 5 || r.Buffers != 1 {
		t.Errorf("Pickles, Protocol, Buffers = %d, %d, %d; want 1, 5, 1", r.Pickles, r.Protocol, r.Buffers)
	}
	seen := map[pickle.Op]bool{}
	for _, c := range p.Bytes() {
		seen[pickle.Op(c)] = true
	}
	for c := 0; c < 256; c++ {
		if o := pickle.Op(c); o.Known() && !seen[o] {
			t.Errorf("opcode %s not exercised", o)
		}
	}
}

func TestErrors(t *testing.T) {
	b := pickletest.New
	tests := []struct {
		name   string
		in     []byte
		offset int64
		reason string
	}{
		{"no STOP", b().Proto(2).Op(pickle.NONE).Bytes(), 3, "input ends before STOP"},
		{"truncated argument", b().Proto(2).Raw(byte(pickle.BININT), 1, 2).Bytes(), 2, "input ends inside"},
		{"truncated line", b().Raw([]byte("cos\nsys")...).Bytes(), 0, "input ends inside"},
		{"unknown opcode", b().Proto(2).Raw(0xff).Bytes(), 2, "unknown opcode 0xff"},
		{"stack underflow", b().Proto(2).Op(pickle.REDUCE).Stop().Bytes(), 2, "stack underflow"},
		{"underflow across a mark", b().Int(1).Op(pickle.MARK).Op(pickle.TUPLE1).Bytes(), 3, "stack underflow"},
		{"memo miss", b().Proto(2).Get(4).Stop().Bytes(), 2, "memo has no entry 4"},
		{"POP_MARK without MARK", b().Op(pickle.POP_MARK).Bytes(), 0, "no MARK"},
		{"TUPLE without MARK", b().Int(1).Op(pickle.TUPLE).Bytes(), 2, "no MARK"},
		{"STOP on an empty stack", b().Stop().Bytes(), 0, "stack underflow"},
		{"length beyond the input", b().Proto(3).Raw(byte(pickle.BINUNICODE), 0xff, 0xff, 0, 0, 'a').Stop().Bytes(), 2, "exceeds"},
		{"huge BINBYTES8", b().Proto(4).BinBytes8(1<<63+5, 0).Bytes(), 2, "too large"},
		{"negative BINSTRING", b().Raw(byte(pickle.BINSTRING), 0xff, 0xff, 0xff, 0xff).Bytes(), 0, "negative byte count"},
		{"negative LONG4", b().Proto(2).Raw(byte(pickle.LONG4), 0xff, 0xff, 0xff, 0xff).Bytes(), 2, "negative byte count"},
		{"protocol 6", b().Proto(6).Op(pickle.NONE).Stop().Bytes(), 0, "unsupported pickle protocol 6"},
		{"odd DICT", b().Op(pickle.MARK).Int(1).Op(pickle.DICT).Bytes(), 0 + 3, "odd number"},
		{"unquoted STRING", b().Raw([]byte("Sabc\n.")...).Bytes(), 0, "not quoted"},
		{"bad STRING escape", b().String0(`'\x4'`).Stop().Bytes(), 0, `invalid \x escape`},
		{"bad UNICODE escape", b().Unicode0(`\u12`).Stop().Bytes(), 0, `truncated \uXXXX`},
		{"GLOBAL not UTF-8", b().Raw([]byte("cos\xff\nsystem\n.")...).Bytes(), 0, "not UTF-8"},
		{"OBJ without class", b().Op(pickle.MARK).Op(pickle.OBJ).Bytes(), 1, "OBJ without a class"},
		{"bad memo index", b().Raw([]byte("p-1\n")...).Bytes(), 0, "bad memo index"},
		{"garbage after a pickle", append(b().Op(pickle.NONE).Stop().Bytes(), 'x', 'y'), 2, "unknown opcode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scan(t, tt.in, pickle.Options{})
			var fe *pickle.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Scan error = %v, want a *FormatError", err)
			}
			if fe.Offset != tt.offset || !strings.Contains(fe.Reason, tt.reason) {
				t.Errorf("error = %v (offset %d), want offset %d and %q", err, fe.Offset, tt.offset, tt.reason)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	marks := bytes.Repeat([]byte{byte(pickle.MARK)}, 100)
	memo := pickletest.New().Op(pickle.NONE)
	for i := range 100 {
		memo.Put(uint32(i))
	}
	tests := []struct {
		name   string
		in     []byte
		lim    pickle.Limits
		reason string
	}{
		{"stack depth", marks, pickle.Limits{MaxStack: 50}, "stack deeper than 50"},
		{"memo entries", memo.Bytes(), pickle.Limits{MaxMemo: 50}, "more than 50 memo entries"},
		{"values", bytes.Repeat([]byte{byte(pickle.EMPTY_LIST)}, 100), pickle.Limits{MaxValues: 50}, "more than 50 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scan(t, tt.in, pickle.Options{Limits: tt.lim, Joblib: true})
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Scan error = %v, want %q", err, tt.reason)
			}
		})
	}
	t.Run("string budget makes STACK_GLOBAL dynamic", func(t *testing.T) {
		in := pickletest.New().Proto(4).StackGlobal("collections", "OrderedDict").Stop().Bytes()
		r, err := scan(t, in, pickle.Options{Limits: pickle.Limits{MaxStringBytes: 12}})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Globals) != 1 || !r.Globals[0].Dynamic {
			t.Errorf("globals = %+v, want one dynamic", r.Globals)
		}
	})
}

// zeros is an endless source of zero bytes that allocates nothing.
type zeros struct{}

func (zeros) ReadAt(p []byte, off int64) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLargePayloadsAreSkipped checks that a BINBYTES8 payload is skipped
// (by seeking when possible) rather than held in memory.
func TestLargePayloadsAreSkipped(t *testing.T) {
	for _, tt := range []struct {
		name    string
		n       uint64
		seeking bool
	}{{"seeking 8 GiB", 8 << 30, true}, {"reading 64 MiB", 64 << 20, false}} {
		t.Run(tt.name, func(t *testing.T) {
			head := pickletest.New().Proto(4).BinBytes8(tt.n, 0).Bytes()
			tail := pickletest.New().Global("os", "system").Op(pickle.TUPLE2).Stop().Bytes()
			total := int64(len(head)) + int64(tt.n) + int64(len(tail))
			ra := &splice{head: head, mid: int64(tt.n), tail: tail}
			var r io.Reader = io.NewSectionReader(ra, 0, total)
			if !tt.seeking {
				r = io.MultiReader(r) // hides Seek
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res, err := pickle.Scan(r, pickle.Options{Size: total})
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if got := globals(res); len(got) != 1 || got[0] != "os.system@GLOBAL" {
				t.Errorf("globals = %v", got)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Errorf("allocated %d bytes to skip a %d-byte payload", grew, tt.n)
			}
		})
	}
}

// splice is head, then mid zero bytes, then tail.
type splice struct {
	head []byte
	mid  int64
	tail []byte
}

func (s *splice) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		o := off + int64(n)
		switch {
		case o < int64(len(s.head)):
			n += copy(p[n:], s.head[o:])
		case o < int64(len(s.head))+s.mid:
			k := min(int64(len(p)-n), int64(len(s.head))+s.mid-o)
			clear(p[n : n+int(k)])
			n += int(k)
		case o < int64(len(s.head))+s.mid+int64(len(s.tail)):
			n += copy(p[n:], s.tail[o-int64(len(s.head))-s.mid:])
		default:
			return n, io.EOF
		}
	}
	return n, nil
}

// joblibStream assembles what joblib.dump writes for one array: a
// NumpyArrayWrapper with its state, then the array bytes inline (or, for
// an object array, a nested pickle). depth > 1 nests object arrays.
func joblibStream(object bool, depth int) []byte {
	p := pickletest.New().Proto(4)
	p.StackGlobal("joblib.numpy_pickle", "NumpyArrayWrapper").Op(pickle.EMPTY_TUPLE, pickle.NEWOBJ)
	p.Op(pickle.EMPTY_DICT, pickle.MARK)
	p.Str("subclass").StackGlobal("numpy", "ndarray")
	p.Str("shape").Int(2).Int(3).Op(pickle.TUPLE2)
	p.Str("order").Str("C")
	descr, flags := "f8", int64(0)
	if object {
		descr, flags = "O8", 63
	}
	p.Str("dtype").StackGlobal("numpy", "dtype").Str(descr).Op(pickle.NEWFALSE, pickle.NEWTRUE, pickle.TUPLE3, pickle.REDUCE)
	p.Op(pickle.MARK).Int(3).Str("<").Op(pickle.NONE, pickle.NONE, pickle.NONE).Int(-1).Int(-1).Int(flags).Op(pickle.TUPLE, pickle.BUILD)
	p.Str("allow_mmap").Op(pickle.NEWTRUE)
	p.Str("numpy_array_alignment_bytes").Int(16)
	p.Op(pickle.SETITEMS, pickle.BUILD)
	if object {
		if depth > 1 {
			p.Raw(joblibStream(true, depth-1)...)
		} else {
			p.Raw(pickletest.New().Proto(2).Global("os", "system").Stop().Bytes()...)
		}
	} else {
		p.Raw(3, 0xff, 0xff, 0xff)                    // alignment padding
		p.Raw(bytes.Repeat([]byte{0xfe, 'c'}, 24)...) // 6 float64s that are not opcodes
	}
	return p.Stop().Bytes()
}

func TestJoblib(t *testing.T) {
	t.Run("numeric array bytes are skipped", func(t *testing.T) {
		r, err := scan(t, joblibStream(false, 1), pickle.Options{Joblib: true})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		want := []string{"joblib.numpy_pickle.NumpyArrayWrapper@STACK_GLOBAL", "numpy.ndarray@STACK_GLOBAL", "numpy.dtype@STACK_GLOBAL"}
		if diff := cmp.Diff(want, globals(r)); diff != "" {
			t.Errorf("globals (-want +got):\n%s", diff)
		}
	})
	t.Run("without joblib the bytes are opcodes", func(t *testing.T) {
		if _, err := scan(t, joblibStream(false, 1), pickle.Options{}); err == nil {
			t.Error("Scan succeeded; want an error at the array bytes")
		}
	})
	t.Run("object array pickle is scanned", func(t *testing.T) {
		r, err := scan(t, joblibStream(true, 1), pickle.Options{Joblib: true})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if got := globals(r); !strings.Contains(strings.Join(got, " "), "os.system@GLOBAL") {
			t.Errorf("globals = %v, want os.system from the nested pickle", got)
		}
	})
}

func TestScannerSteps(t *testing.T) {
	in := append(pickletest.New().Int(1001).Stop().Bytes(), 1, 2, 3, 4)
	in = append(in, pickletest.New().Op(pickle.NONE).Stop().Bytes()...)
	s := pickle.NewScanner(bytes.NewReader(in), pickle.Options{Size: int64(len(in))})
	v, err := s.Next()
	if err != nil || v.Kind != pickle.KindInt || v.Int != 1001 {
		t.Fatalf("Next = %v, %v; want 1001", v, err)
	}
	var raw [4]byte
	if err := s.ReadFull(raw[:]); err != nil || raw != [4]byte{1, 2, 3, 4} {
		t.Fatalf("ReadFull = %v, %v", raw, err)
	}
	if v, err := s.Next(); err != nil || v.Kind != pickle.KindNone {
		t.Fatalf("Next = %v, %v; want None", v, err)
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next at the end = %v, want io.EOF", err)
	}
	if eof, err := s.AtEOF(); !eof || err != nil {
		t.Errorf("AtEOF = %v, %v", eof, err)
	}
}

func FuzzPickle(f *testing.F) {
	f.Add(pickletest.TorchStateDict([]string{"w"}, []int64{4}))
	f.Add(joblibStream(false, 1))
	f.Add(joblibStream(true, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, joblib := range []bool{false, true} {
			r, err := pickle.Scan(bytes.NewReader(b), pickle.Options{Size: int64(len(b)), Joblib: joblib,
				Limits: pickle.Limits{MaxValues: 1 << 16, MaxStack: 1 << 12}})
			if r == nil {
				t.Fatal("nil result")
			}
			var fe *pickle.FormatError
			if err != nil && !errors.As(err, &fe) {
				t.Fatalf("non-format error %v", err)
			}
			for _, p := range r.PersIDs {
				_ = p.Value.String()
			}
		}
	})
}
