package pickle

import (
	"fmt"
	"math"
	"strconv"
)

// isNumpyArrayWrapper reports whether v is joblib's array wrapper class,
// after whose BUILD joblib.load reads the array from the stream.
func isNumpyArrayWrapper(v *Value) bool {
	mod, name, ok := v.Global()
	return ok && name == "NumpyArrayWrapper" &&
		(mod == "joblib.numpy_pickle" || mod == "sklearn.externals.joblib.numpy_pickle")
}

// joblibArray consumes the array data that follows a NumpyArrayWrapper's
// BUILD, as joblib's NumpyArrayWrapper.read_array would: an alignment
// byte and padding (joblib ≥ 1.2), then either count×itemsize raw bytes
// or, for object arrays, a complete nested pickle (which is scanned).
func (m *machine) joblibArray(wrapper *Value) (*Value, error) {
	state := wrapper.State
	if state == nil || state.Kind != KindDict || state.Trunc {
		return nil, m.fail("joblib array wrapper without a readable state")
	}
	shape, ok := state.Lookup("shape")
	if !ok || (shape.Kind != KindTuple && shape.Kind != KindList) || shape.Trunc {
		return nil, m.fail("joblib array wrapper without a readable shape")
	}
	count := int64(1)
	for _, d := range shape.Items {
		if d.Kind != KindInt || d.Big || d.Int < 0 {
			return nil, m.fail("joblib array shape %s is not a tuple of sizes", shape)
		}
		if d.Int != 0 && count > math.MaxInt64/d.Int {
			return nil, m.fail("joblib array shape %s overflows", shape)
		}
		count *= d.Int
	}
	dtype, ok := state.Lookup("dtype")
	if !ok {
		return nil, m.fail("joblib array wrapper without a dtype")
	}
	itemsize, hasObject, err := numpyDtype(dtype)
	if err != nil {
		return nil, m.fail("joblib array dtype: %v", err)
	}
	if hasObject {
		if m.s.nested > 0 {
			// The nested pickle is read by plain pickle.load, so it
			// cannot itself hold joblib arrays.
			return nil, m.fail("joblib object array inside a joblib object array")
		}
		m.s.nested++
		sub := newMachine(m.s)
		sub.joblib = false
		_, err := sub.run()
		m.s.nested--
		if err != nil {
			return nil, err
		}
		m.res.Pickles++
		return wrapper, nil
	}
	if a, ok := state.Lookup("numpy_array_alignment_bytes"); ok && a.Kind != KindNone {
		b, err := m.rd.readByte()
		if err != nil {
			return nil, m.readErr(err)
		}
		if err := m.rd.skip(int64(b)); err != nil {
			return nil, m.readErr(err)
		}
	}
	if itemsize != 0 && count > math.MaxInt64/itemsize {
		return nil, m.fail("joblib array of %d items of %d bytes overflows", count, itemsize)
	}
	n, err := m.length(uint64(count * itemsize))
	if err != nil {
		return nil, err
	}
	if err := m.rd.skip(n); err != nil {
		return nil, m.readErr(err)
	}
	return wrapper, nil
}

// numpyDtype reads a pickled numpy.dtype (numpy.dtype(descr, …) with a
// BUILD state tuple) and returns its item size and whether it holds
// Python objects.
func numpyDtype(v *Value) (itemsize int64, hasObject bool, err error) {
	if v == nil || v.Kind != KindObject {
		return 0, false, fmt.Errorf("not a dtype object")
	}
	mod, name, ok := v.Callee.Global()
	if !ok || name != "dtype" || (mod != "numpy" && mod != "numpy.core.multiarray" && mod != "numpy._core.multiarray") {
		return 0, false, fmt.Errorf("not built by numpy.dtype")
	}
	args := v.Args
	if args == nil || args.Kind != KindTuple || len(args.Items) == 0 || !args.Items[0].IsString() {
		return 0, false, fmt.Errorf("numpy.dtype without a type string")
	}
	descr := args.Items[0].Str
	if st := v.State; st != nil && st.Kind == KindTuple && len(st.Items) >= 8 {
		if f := st.Items[7]; f.Kind == KindInt && !f.Big && f.Int&1 != 0 {
			hasObject = true // NPY_ITEM_HASOBJECT
		}
	}
	if len(descr) > 0 && (descr[0] == '<' || descr[0] == '>' || descr[0] == '|' || descr[0] == '=') {
		descr = descr[1:]
	}
	if descr == "" {
		return 0, false, fmt.Errorf("empty type string")
	}
	kind, digits := descr[0], descr[1:]
	if kind == 'O' {
		return 8, true, nil
	}
	size, perr := strconv.ParseInt(digits, 10, 64)
	if perr != nil || size < 0 || size > 1<<40 {
		return 0, false, fmt.Errorf("type string %q", args.Items[0].Str)
	}
	switch kind {
	case 'b', 'i', 'u', 'f', 'c', 'S', 'V', 'M', 'm':
	case 'U':
		size *= 4
	default:
		return 0, false, fmt.Errorf("type string %q", args.Items[0].Str)
	}
	return size, hasObject, nil
}
