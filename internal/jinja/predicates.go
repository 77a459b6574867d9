package jinja

import (
	"fmt"
	"unicode"
)

type testFunc func(ev *evaluator, v Value, args []Value) (bool, error)

// tests is jinja2's built-in test set (the "is" operator). Read-only.
var tests map[string]testFunc

func init() {
	cmp := func(op string) testFunc {
		return func(ev *evaluator, v Value, args []Value) (bool, error) {
			if len(args) != 1 {
				return false, errorf("comparison test takes exactly one argument")
			}
			return ev.compare(op, v, args[0])
		}
	}
	tests = map[string]testFunc{
		"defined":   func(ev *evaluator, v Value, _ []Value) (bool, error) { return !isUndefined(v), nil },
		"undefined": func(ev *evaluator, v Value, _ []Value) (bool, error) { return isUndefined(v), nil },
		"none":      func(ev *evaluator, v Value, _ []Value) (bool, error) { _, ok := v.(None); return ok, nil },
		"boolean":   func(ev *evaluator, v Value, _ []Value) (bool, error) { _, ok := v.(Bool); return ok, nil },
		"true":      func(ev *evaluator, v Value, _ []Value) (bool, error) { b, ok := v.(Bool); return ok && bool(b), nil },
		"false":     func(ev *evaluator, v Value, _ []Value) (bool, error) { b, ok := v.(Bool); return ok && !bool(b), nil },
		"integer":   func(ev *evaluator, v Value, _ []Value) (bool, error) { _, ok := v.(Int); return ok, nil },
		"float":     func(ev *evaluator, v Value, _ []Value) (bool, error) { _, ok := v.(Float); return ok, nil },
		"number": func(ev *evaluator, v Value, _ []Value) (bool, error) {
			_, _, _, ok := number(v)
			return ok, nil
		},
		"string":  func(ev *evaluator, v Value, _ []Value) (bool, error) { _, ok := v.(String); return ok, nil },
		"mapping": func(ev *evaluator, v Value, _ []Value) (bool, error) { _, ok := v.(*Dict); return ok, nil },
		"iterable": func(ev *evaluator, v Value, _ []Value) (bool, error) {
			switch v.(type) {
			case String, *List, *Dict, Undefined, *rangeValue, *loopValue:
				return true, nil
			}
			return false, nil
		},
		"sequence": func(ev *evaluator, v Value, _ []Value) (bool, error) {
			switch v.(type) {
			case String, *List, *Dict, Undefined, *rangeValue:
				return true, nil
			}
			return false, nil
		},
		"callable": func(ev *evaluator, v Value, _ []Value) (bool, error) {
			_, ok := v.(callable)
			if isUndefined(v) { // jinja2's Undefined has a (failing) __call__
				ok = true
			}
			if l, isLoop := v.(*loopValue); isLoop {
				ok = l.node.recursive
			}
			return ok, nil
		},
		"odd":  intTest(func(n int64) bool { return n%2 != 0 }),
		"even": intTest(func(n int64) bool { return n%2 == 0 }),
		"divisibleby": func(ev *evaluator, v Value, args []Value) (bool, error) {
			if len(args) != 1 {
				return false, errorf("divisibleby takes exactly one argument")
			}
			r, err := ev.binop("%", v, args[0])
			if err != nil {
				return false, err
			}
			return !truthy(r), nil
		},
		"in": func(ev *evaluator, v Value, args []Value) (bool, error) {
			if len(args) != 1 {
				return false, errorf("in takes exactly one argument")
			}
			return ev.contains(args[0], v)
		},
		"sameas": func(ev *evaluator, v Value, args []Value) (bool, error) {
			if len(args) != 1 {
				return false, errorf("sameas takes exactly one argument")
			}
			return identical(v, args[0]), nil
		},
		"lower":   strTest(unicode.IsLower, unicode.IsUpper),
		"upper":   strTest(unicode.IsUpper, unicode.IsLower),
		"escaped": func(ev *evaluator, v Value, _ []Value) (bool, error) { return false, nil },
		"filter": func(ev *evaluator, v Value, _ []Value) (bool, error) {
			s, ok := v.(String)
			return ok && filters[string(s)] != nil, nil
		},
		"test": func(ev *evaluator, v Value, _ []Value) (bool, error) {
			s, ok := v.(String)
			return ok && tests[string(s)] != nil, nil
		},
		"eq": cmp("eq"), "equalto": cmp("eq"), "==": cmp("eq"),
		"ne": cmp("ne"), "!=": cmp("ne"),
		"lt": cmp("lt"), "lessthan": cmp("lt"), "<": cmp("lt"),
		"le": cmp("lteq"), "<=": cmp("lteq"),
		"gt": cmp("gt"), "greaterthan": cmp("gt"), ">": cmp("gt"),
		"ge": cmp("gteq"), ">=": cmp("gteq"),
	}
}

func intTest(f func(int64) bool) testFunc {
	return func(ev *evaluator, v Value, _ []Value) (bool, error) {
		i, fl, isF, ok := number(v)
		if !ok {
			return false, fmt.Errorf("unsupported operand type for %%: '%s'", v.typeName())
		}
		if isF {
			return f(int64(fl)) && fl == float64(int64(fl)), nil
		}
		return f(i), nil
	}
}

// strTest is str.islower/isupper: no characters of the opposite case and
// at least one cased character.
func strTest(is, opposite func(rune) bool) testFunc {
	return func(ev *evaluator, v Value, _ []Value) (bool, error) {
		s, err := ev.str(v)
		if err != nil {
			return false, err
		}
		cased := false
		for _, r := range s {
			if opposite(r) || unicode.IsTitle(r) {
				return false, nil
			}
			if is(r) {
				cased = true
			}
		}
		return cased, nil
	}
}

// identical is Python's "is": identity for containers, value for the
// immutable singletons and small values CPython shares.
func identical(a, b Value) bool {
	switch x := a.(type) {
	case None:
		_, ok := b.(None)
		return ok
	case Bool:
		y, ok := b.(Bool)
		return ok && x == y
	case Int:
		y, ok := b.(Int)
		return ok && x == y
	case String:
		y, ok := b.(String)
		return ok && x == y
	}
	return sameValue(a, b)
}

func (ev *evaluator) applyTest(t *testExpr, v Value, sc *scope) (bool, error) {
	args, kw, err := ev.evalArgs(t.args, t.kwargs, t.dynArgs, t.dynKwargs, sc)
	if err != nil {
		return false, err
	}
	return ev.callTest(t.name, v, args, kw)
}

func (ev *evaluator) callTest(name string, v Value, args []Value, kw []kwArg) (bool, error) {
	fn := tests[name]
	if fn == nil {
		return false, fmt.Errorf("no test named '%s'", name)
	}
	if len(kw) > 0 {
		return false, fmt.Errorf("test '%s' takes no keyword arguments", name)
	}
	if err := ev.step(1); err != nil {
		return false, err
	}
	if err := ev.charge(v); err != nil {
		return false, err
	}
	return fn(ev, v, args)
}
