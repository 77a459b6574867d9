package jinja

import (
	"fmt"
	"math"
	"strings"
)

func unaryOp(op string, x Value) (Value, error) {
	if u, ok := x.(Undefined); ok {
		return nil, u.err()
	}
	i, f, isF, ok := number(x)
	if !ok {
		return nil, fmt.Errorf("bad operand type for unary %s: '%s'", op, x.typeName())
	}
	if op == "+" {
		if isF {
			return Float(f), nil
		}
		return Int(i), nil
	}
	if isF {
		return Float(-f), nil
	}
	if i == math.MinInt64 {
		return nil, errorf("integer overflow")
	}
	return Int(-i), nil
}

func opError(op string, l, r Value) error {
	return fmt.Errorf("unsupported operand type(s) for %s: '%s' and '%s'", op, l.typeName(), r.typeName())
}

func (ev *evaluator) binop(op string, l, r Value) (Value, error) {
	if u, ok := l.(Undefined); ok {
		return nil, u.err()
	}
	if s, ok := l.(String); ok && op == "%" {
		// str % x runs before x gets a say, so even undefined works.
		return ev.percentFormat(string(s), r)
	}
	if u, ok := r.(Undefined); ok {
		return nil, u.err()
	}
	li, lf, lFloat, lNum := number(l)
	ri, rf, rFloat, rNum := number(r)
	if lNum && rNum {
		return arith(op, li, lf, lFloat, ri, rf, rFloat)
	}
	switch op {
	case "+":
		switch a := l.(type) {
		case String:
			if b, ok := r.(String); ok {
				if err := ev.checkSize(len(a) + len(b)); err != nil {
					return nil, err
				}
				return a + b, nil
			}
		case *List:
			if b, ok := r.(*List); ok && a.tuple == b.tuple && a.view == "" && b.view == "" {
				if err := ev.checkItems(len(a.Items) + len(b.Items)); err != nil {
					return nil, err
				}
				items := make([]Value, 0, len(a.Items)+len(b.Items))
				items = append(append(items, a.Items...), b.Items...)
				return &List{Items: items, tuple: a.tuple}, nil
			}
		}
	case "*":
		seq, n := l, ri
		if lNum && !lFloat {
			seq, n = r, li
		} else if !rNum || rFloat {
			break
		}
		if n < 0 {
			n = 0
		}
		switch s := seq.(type) {
		case String:
			if len(s) > 0 && n > int64(ev.maxSize/len(s)) {
				return nil, fmt.Errorf("%w: repeating a string of %d bytes %d times", ErrTooLarge, len(s), n)
			}
			if err := ev.checkSize(len(s) * int(n)); err != nil {
				return nil, err
			}
			return String(strings.Repeat(string(s), int(n))), nil
		case *List:
			if s.view != "" {
				break
			}
			if len(s.Items) > 0 && n > int64(ev.maxSize/16/len(s.Items)) {
				return nil, fmt.Errorf("%w: repeating a list of %d items %d times", ErrTooLarge, len(s.Items), n)
			}
			total := len(s.Items) * int(n)
			if err := ev.checkItems(total); err != nil {
				return nil, err
			}
			items := make([]Value, 0, total)
			for k := int64(0); k < n; k++ {
				items = append(items, s.Items...)
			}
			return &List{Items: items, tuple: s.tuple}, nil
		}
	}
	return nil, opError(op, l, r)
}

func arith(op string, li int64, lf float64, lFloat bool, ri int64, rf float64, rFloat bool) (Value, error) {
	isFloat := lFloat || rFloat
	switch op {
	case "+":
		if isFloat {
			return Float(lf + rf), nil
		}
		s := li + ri
		if (s > li) != (ri > 0) {
			return nil, errorf("integer overflow")
		}
		return Int(s), nil
	case "-":
		if isFloat {
			return Float(lf - rf), nil
		}
		s := li - ri
		if (s < li) != (ri > 0) {
			return nil, errorf("integer overflow")
		}
		return Int(s), nil
	case "*":
		if isFloat {
			return Float(lf * rf), nil
		}
		if li != 0 && ri != 0 {
			p := li * ri
			if p/ri != li || (li == -1 && ri == math.MinInt64) || (ri == -1 && li == math.MinInt64) {
				return nil, errorf("integer overflow")
			}
			return Int(p), nil
		}
		return Int(0), nil
	case "/":
		if rf == 0 {
			return nil, errorf("division by zero")
		}
		return Float(lf / rf), nil
	case "//":
		if isFloat {
			if rf == 0 {
				return nil, errorf("float floor division by zero")
			}
			return Float(math.Floor(lf / rf)), nil
		}
		if ri == 0 {
			return nil, errorf("integer division or modulo by zero")
		}
		if li == math.MinInt64 && ri == -1 {
			return nil, errorf("integer overflow")
		}
		q := li / ri
		if (li%ri != 0) && ((li < 0) != (ri < 0)) {
			q--
		}
		return Int(q), nil
	case "%":
		if isFloat {
			if rf == 0 {
				return nil, errorf("float modulo")
			}
			m := math.Mod(lf, rf)
			if m != 0 && (m < 0) != (rf < 0) {
				m += rf
			}
			return Float(m), nil
		}
		if ri == 0 {
			return nil, errorf("integer division or modulo by zero")
		}
		if ri == -1 {
			return Int(0), nil
		}
		m := li % ri
		if m != 0 && (m < 0) != (ri < 0) {
			m += ri
		}
		return Int(m), nil
	case "**":
		if !isFloat && ri >= 0 {
			return intPow(li, ri)
		}
		if lf == 0 && rf < 0 {
			return nil, errorf("0.0 cannot be raised to a negative power")
		}
		p := math.Pow(lf, rf)
		if math.IsNaN(p) && !math.IsNaN(lf) && !math.IsNaN(rf) {
			return nil, errorf("power with a complex result is not supported")
		}
		return Float(p), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

func intPow(base, exp int64) (Value, error) {
	result := int64(1)
	for exp > 0 {
		if exp&1 == 1 {
			r := result * base
			if base != 0 && r/base != result {
				return nil, errorf("integer overflow")
			}
			result = r
		}
		exp >>= 1
		if exp > 0 {
			sq := base * base
			if base != 0 && sq/base != base {
				return nil, errorf("integer overflow")
			}
			base = sq
		}
	}
	return Int(result), nil
}

// Comparison.

func (ev *evaluator) compare(op string, l, r Value) (bool, error) {
	switch op {
	case "eq":
		return ev.equal(l, r, 0)
	case "ne":
		eq, err := ev.equal(l, r, 0)
		return !eq, err
	case "in":
		return ev.contains(r, l)
	case "notin":
		in, err := ev.contains(r, l)
		return !in, err
	}
	c, err := ev.order(l, r, op, 0)
	if err != nil {
		return false, err
	}
	switch op {
	case "lt":
		return c < 0, nil
	case "lteq":
		return c <= 0, nil
	case "gt":
		return c > 0, nil
	case "gteq":
		return c >= 0, nil
	}
	return false, fmt.Errorf("unknown comparison %s", op)
}

var opSymbols = map[string]string{"lt": "<", "lteq": "<=", "gt": ">", "gteq": ">="}

// equal is Python's ==.
func (ev *evaluator) equal(a, b Value, depth int) (bool, error) {
	if err := ev.step(1); err != nil {
		return false, err
	}
	if depth > maxReprDepth {
		return false, fmt.Errorf("%w: comparing nested values", ErrTooDeep)
	}
	ai, af, aF, aNum := number(a)
	bi, bf, bF, bNum := number(b)
	if aNum && bNum {
		if aF || bF {
			return af == bf, nil
		}
		return ai == bi, nil
	}
	switch x := a.(type) {
	case String:
		y, ok := b.(String)
		if ok && len(x) == len(y) {
			if err := ev.charge(x); err != nil {
				return false, err
			}
		}
		return ok && x == y, nil
	case None:
		_, ok := b.(None)
		return ok, nil
	case Undefined:
		_, ok := b.(Undefined)
		return ok, nil
	case *List:
		y, ok := b.(*List)
		if !ok || x.tuple != y.tuple || len(x.Items) != len(y.Items) {
			return false, nil
		}
		for i := range x.Items {
			eq, err := ev.equal(x.Items[i], y.Items[i], depth+1)
			if err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || len(x.keys) != len(y.keys) {
			return false, nil
		}
		for i, k := range x.keys {
			v, ok := y.lookup(k)
			if !ok {
				return false, nil
			}
			eq, err := ev.equal(x.vals[i], v, depth+1)
			if err != nil || !eq {
				return false, err
			}
		}
		return true, nil
	case *rangeValue:
		y, ok := b.(*rangeValue)
		if !ok || x.length() != y.length() {
			return false, nil
		}
		return x.length() == 0 || (x.start == y.start && (x.length() == 1 || x.step == y.step)), nil
	}
	return sameValue(a, b), nil
}

// sameValue is Python's "is" for reference values.
func sameValue(a, b Value) bool {
	switch x := a.(type) {
	case *namespace:
		y, ok := b.(*namespace)
		return ok && x == y
	case *macro:
		y, ok := b.(*macro)
		return ok && x == y
	case *loopValue:
		y, ok := b.(*loopValue)
		return ok && x == y
	case *cycler:
		y, ok := b.(*cycler)
		return ok && x == y
	case *joiner:
		y, ok := b.(*joiner)
		return ok && x == y
	case *List:
		y, ok := b.(*List)
		return ok && x == y
	case *Dict:
		y, ok := b.(*Dict)
		return ok && x == y
	case *rangeValue:
		y, ok := b.(*rangeValue)
		return ok && x == y
	case *builtinFunc:
		y, ok := b.(*builtinFunc)
		return ok && x == y
	case *boundMethod:
		y, ok := b.(*boundMethod)
		return ok && x == y
	}
	return false
}

// order is Python's ordering comparison: -1, 0 or 1.
func (ev *evaluator) order(a, b Value, op string, depth int) (int, error) {
	if err := ev.step(1); err != nil {
		return 0, err
	}
	if depth > maxReprDepth {
		return 0, fmt.Errorf("%w: comparing nested values", ErrTooDeep)
	}
	if u, ok := a.(Undefined); ok {
		return 0, u.err()
	}
	if u, ok := b.(Undefined); ok {
		return 0, u.err()
	}
	ai, af, aF, aNum := number(a)
	bi, bf, bF, bNum := number(b)
	if aNum && bNum {
		if aF || bF {
			switch {
			case af < bf:
				return -1, nil
			case af > bf:
				return 1, nil
			}
			return 0, nil
		}
		switch {
		case ai < bi:
			return -1, nil
		case ai > bi:
			return 1, nil
		}
		return 0, nil
	}
	switch x := a.(type) {
	case String:
		if y, ok := b.(String); ok {
			if err := ev.step(int64(min(len(x), len(y)) / 64)); err != nil {
				return 0, err
			}
			return strings.Compare(string(x), string(y)), nil
		}
	case *List:
		if y, ok := b.(*List); ok && x.tuple == y.tuple {
			for i := 0; i < len(x.Items) && i < len(y.Items); i++ {
				eq, err := ev.equal(x.Items[i], y.Items[i], depth+1)
				if err != nil {
					return 0, err
				}
				if !eq {
					return ev.order(x.Items[i], y.Items[i], op, depth+1)
				}
			}
			switch {
			case len(x.Items) < len(y.Items):
				return -1, nil
			case len(x.Items) > len(y.Items):
				return 1, nil
			}
			return 0, nil
		}
	}
	sym := opSymbols[op]
	if sym == "" {
		sym = "<"
	}
	return 0, fmt.Errorf("'%s' not supported between instances of '%s' and '%s'", sym, a.typeName(), b.typeName())
}

// contains is Python's "item in container".
func (ev *evaluator) contains(container, item Value) (bool, error) {
	switch c := container.(type) {
	case String:
		s, ok := item.(String)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires string as left operand, not %s", item.typeName())
		}
		if err := ev.step(int64(len(c) / 64)); err != nil {
			return false, err
		}
		return strings.Contains(string(c), string(s)), nil
	case *Dict:
		if _, err := hashOf(item, 0); err != nil {
			return false, err
		}
		_, ok := c.lookup(item)
		return ok, nil
	case *namespace:
		return false, errorf("argument of type 'Namespace' is not iterable")
	case *rangeValue:
		i, ok := intIndex(item)
		if !ok {
			return false, nil
		}
		return c.contains(i), nil
	case Undefined:
		return false, nil
	}
	items, err := ev.iterate(container)
	if err != nil {
		return false, fmt.Errorf("argument of type '%s' is not iterable", container.typeName())
	}
	for _, it := range items {
		eq, err := ev.equal(it, item, 0)
		if err != nil {
			return false, err
		}
		if eq {
			return true, nil
		}
	}
	return false, nil
}
