package jinja

import (
	"fmt"
	"strings"
)

// kwArg is an evaluated keyword argument.
type kwArg struct {
	name string
	val  Value
}

// callable is implemented by every value a template can call.
type callable interface {
	call(ev *evaluator, args []Value, kw []kwArg) (Value, error)
}

func (f Func) call(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	var m map[string]Value
	if len(kw) > 0 {
		m = make(map[string]Value, len(kw))
		for _, k := range kw {
			m[k.name] = k.val
		}
	}
	v, err := f(args, m)
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = None{}
	}
	return v, nil
}

func (ev *evaluator) eval(e expr, sc *scope) (Value, error) {
	if err := ev.step(1); err != nil {
		return nil, err
	}
	v, err := ev.eval1(e, sc)
	if err != nil {
		return nil, ev.wrap(e.position(), err)
	}
	return v, nil
}

func (ev *evaluator) eval1(e expr, sc *scope) (Value, error) {
	switch e := e.(type) {
	case *constExpr:
		return e.v, nil
	case *nameExpr:
		if v, ok := sc.lookup(e.name); ok {
			return v, nil
		}
		return Undefined{name: e.name}, nil
	case *listExpr, *tupleExpr:
		var items []expr
		tuple := false
		if l, ok := e.(*listExpr); ok {
			items = l.items
		} else {
			items, tuple = e.(*tupleExpr).items, true
		}
		if err := ev.checkItems(len(items)); err != nil {
			return nil, err
		}
		out := make([]Value, len(items))
		for i, it := range items {
			v, err := ev.eval(it, sc)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return &List{Items: out, tuple: tuple}, nil
	case *dictExpr:
		d := NewDict()
		for i := range e.keys {
			k, err := ev.eval(e.keys[i], sc)
			if err != nil {
				return nil, err
			}
			if err := ev.charge(k); err != nil {
				return nil, err
			}
			v, err := ev.eval(e.vals[i], sc)
			if err != nil {
				return nil, err
			}
			if err := d.setKey(k, v); err != nil {
				return nil, err
			}
		}
		return d, nil
	case *getattrExpr:
		obj, err := ev.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		return ev.getattr(obj, e.attr)
	case *getitemExpr:
		obj, err := ev.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		if s, ok := e.key.(*sliceExpr); ok {
			return ev.evalSlice(obj, s, sc)
		}
		key, err := ev.eval(e.key, sc)
		if err != nil {
			return nil, err
		}
		return ev.getitem(obj, key)
	case *callExpr:
		return ev.evalCall(e, sc, nil)
	case *filterExpr:
		var v Value = Undefined{}
		if e.obj != nil {
			var err error
			if v, err = ev.eval(e.obj, sc); err != nil {
				return nil, err
			}
		}
		return ev.applyFilter(e, v, sc)
	case *testExpr:
		v, err := ev.eval(e.obj, sc)
		if err != nil {
			return nil, err
		}
		ok, err := ev.applyTest(e, v, sc)
		return Bool(ok), err
	case *unaryExpr:
		x, err := ev.eval(e.x, sc)
		if err != nil {
			return nil, err
		}
		if e.op == "not" {
			return Bool(!truthy(x)), nil
		}
		return unaryOp(e.op, x)
	case *binaryExpr:
		l, err := ev.eval(e.l, sc)
		if err != nil {
			return nil, err
		}
		r, err := ev.eval(e.r, sc)
		if err != nil {
			return nil, err
		}
		return ev.binop(e.op, l, r)
	case *andExpr:
		l, err := ev.eval(e.l, sc)
		if err != nil || !truthy(l) {
			return l, err
		}
		return ev.eval(e.r, sc)
	case *orExpr:
		l, err := ev.eval(e.l, sc)
		if err != nil || truthy(l) {
			return l, err
		}
		return ev.eval(e.r, sc)
	case *concatExpr:
		var b strings.Builder
		for _, p := range e.parts {
			v, err := ev.eval(p, sc)
			if err != nil {
				return nil, err
			}
			s, err := ev.str(v)
			if err != nil {
				return nil, err
			}
			if err := ev.checkSize(b.Len() + len(s)); err != nil {
				return nil, err
			}
			b.WriteString(s)
		}
		return String(b.String()), nil
	case *compareExpr:
		left, err := ev.eval(e.first, sc)
		if err != nil {
			return nil, err
		}
		for i, op := range e.ops {
			right, err := ev.eval(e.rest[i], sc)
			if err != nil {
				return nil, err
			}
			ok, err := ev.compare(op, left, right)
			if err != nil || !ok {
				return Bool(false), err
			}
			left = right
		}
		return Bool(true), nil
	case *condExpr:
		t, err := ev.eval(e.test, sc)
		if err != nil {
			return nil, err
		}
		if truthy(t) {
			return ev.eval(e.then, sc)
		}
		if e.els_ == nil {
			return Undefined{hint: "the inline if-expression evaluated to false and no else section was defined"}, nil
		}
		return ev.eval(e.els_, sc)
	case *sliceExpr:
		return nil, errorf("a slice is only allowed inside []")
	case *nsRefExpr:
		return nil, errorf("namespace attribute reference outside an assignment")
	}
	return nil, fmt.Errorf("internal error: unknown expression %T", e)
}

// evalArgs evaluates call arguments, expanding *args and **kwargs.
func (ev *evaluator) evalArgs(args []expr, kwargs []kwExpr, dynArgs, dynKwargs expr, sc *scope) ([]Value, []kwArg, error) {
	var av []Value
	for _, a := range args {
		v, err := ev.eval(a, sc)
		if err != nil {
			return nil, nil, err
		}
		av = append(av, v)
	}
	if dynArgs != nil {
		v, err := ev.eval(dynArgs, sc)
		if err != nil {
			return nil, nil, err
		}
		items, err := ev.iterate(v)
		if err != nil {
			return nil, nil, err
		}
		av = append(av, items...)
	}
	var kv []kwArg
	for _, k := range kwargs {
		v, err := ev.eval(k.val, sc)
		if err != nil {
			return nil, nil, err
		}
		kv = append(kv, kwArg{name: k.name, val: v})
	}
	if dynKwargs != nil {
		v, err := ev.eval(dynKwargs, sc)
		if err != nil {
			return nil, nil, err
		}
		d, ok := v.(*Dict)
		if !ok {
			return nil, nil, fmt.Errorf("argument after ** must be a mapping, not %s", v.typeName())
		}
		for i, k := range d.keys {
			ks, ok := k.(String)
			if !ok {
				return nil, nil, errorf("keywords must be strings")
			}
			kv = append(kv, kwArg{name: string(ks), val: d.vals[i]})
		}
	}
	return av, kv, nil
}

// evalCall evaluates a call; caller, when set, is passed as the caller
// keyword of a call block.
func (ev *evaluator) evalCall(e *callExpr, sc *scope, caller Value) (Value, error) {
	fn, err := ev.eval(e.fn, sc)
	if err != nil {
		return nil, err
	}
	args, kw, err := ev.evalArgs(e.args, e.kwargs, e.dynArgs, e.dynKwargs, sc)
	if err != nil {
		return nil, err
	}
	if caller != nil {
		kw = append(kw, kwArg{name: "caller", val: caller})
	}
	return ev.callValue(fn, args, kw)
}

func (ev *evaluator) callValue(fn Value, args []Value, kw []kwArg) (Value, error) {
	if err := ev.step(1); err != nil {
		return nil, err
	}
	switch f := fn.(type) {
	case callable:
		return f.call(ev, args, kw)
	case Undefined:
		return nil, f.err()
	}
	return nil, fmt.Errorf("'%s' object is not callable", fn.typeName())
}
