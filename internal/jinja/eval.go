package jinja

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// evaluator holds the state of one render.
type evaluator struct {
	ctx       context.Context
	src       string
	out       *strings.Builder
	steps     int64
	maxSteps  int64
	nextCheck int64
	maxSize   int
	depth     int // macro and recursive-loop call depth
}

// scope is one level of variables. Most scopes (loop iterations, macro
// calls) hold a handful of names, kept inline to spare a map allocation.
type scope struct {
	names  [4]string
	vals   [4]Value
	n      int
	more   map[string]Value
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{parent: parent} }

func (s *scope) get(name string) (Value, bool) {
	for i := 0; i < s.n; i++ {
		if s.names[i] == name {
			return s.vals[i], true
		}
	}
	if s.more != nil {
		v, ok := s.more[name]
		return v, ok
	}
	return nil, false
}

func (s *scope) set(name string, v Value) {
	for i := 0; i < s.n; i++ {
		if s.names[i] == name {
			s.vals[i] = v
			return
		}
	}
	if s.more == nil && s.n < len(s.names) {
		s.names[s.n], s.vals[s.n] = name, v
		s.n++
		return
	}
	if s.more == nil {
		s.more = make(map[string]Value, 8)
	}
	s.more[name] = v
}

func (s *scope) lookup(name string) (Value, bool) {
	for ; s != nil; s = s.parent {
		if v, ok := s.get(name); ok {
			return v, true
		}
	}
	return nil, false
}

type ctrl uint8

const (
	ctrlNone ctrl = iota
	ctrlBreak
	ctrlContinue
)

const ctxCheckEvery = 2048

// step charges n steps against the budget and, now and then, checks the
// context.
func (ev *evaluator) step(n int64) error {
	ev.steps += n
	if ev.steps > ev.maxSteps {
		return fmt.Errorf("%w (limit %d)", ErrStepBudget, ev.maxSteps)
	}
	if ev.steps >= ev.nextCheck {
		ev.nextCheck = ev.steps + ctxCheckEvery
		if err := ev.ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// charge pays for work proportional to the length of a string value.
func (ev *evaluator) charge(v Value) error {
	if s, ok := v.(String); ok && len(s) >= 64 {
		return ev.step(int64(len(s) / 64))
	}
	return nil
}

// checkSize vets a string of n bytes about to be built.
func (ev *evaluator) checkSize(n int) error {
	if n > ev.maxSize || n < 0 {
		return fmt.Errorf("%w: a value of %d bytes exceeds the limit of %d", ErrTooLarge, n, ev.maxSize)
	}
	return ev.step(int64(n / 64))
}

// checkItems vets a list of n items about to be built.
func (ev *evaluator) checkItems(n int) error {
	if n < 0 || n > ev.maxSize/16 {
		return fmt.Errorf("%w: a list of %d items exceeds the limit of %d", ErrTooLarge, n, ev.maxSize/16)
	}
	return ev.step(int64(n / 4))
}

func (ev *evaluator) write(s string) error {
	if ev.out.Len()+len(s) > ev.maxSize {
		return fmt.Errorf("%w: output exceeds %d bytes", ErrTooLarge, ev.maxSize)
	}
	if err := ev.step(int64(len(s) / 64)); err != nil {
		return err
	}
	ev.out.WriteString(s)
	return nil
}

// wrap attaches the position pos to err unless it already has one.
func (ev *evaluator) wrap(pos int, err error) error {
	var re *RenderError
	if err == nil || errors.As(err, &re) {
		return err
	}
	line, col := lineCol(ev.src, pos)
	return &RenderError{Line: line, Col: col, Err: err}
}

// capture renders f into a fresh buffer and returns what it wrote.
func (ev *evaluator) capture(f func() (ctrl, error)) (string, ctrl, error) {
	saved := ev.out
	var b strings.Builder
	ev.out = &b
	c, err := f()
	ev.out = saved
	return b.String(), c, err
}

func (ev *evaluator) execBody(body []node, sc *scope) (ctrl, error) {
	for _, n := range body {
		if err := ev.step(1); err != nil {
			return ctrlNone, ev.wrap(n.position(), err)
		}
		c, err := ev.exec(n, sc)
		if err != nil {
			return ctrlNone, ev.wrap(n.position(), err)
		}
		if c != ctrlNone {
			return c, nil
		}
	}
	return ctrlNone, nil
}

func (ev *evaluator) exec(n node, sc *scope) (ctrl, error) {
	switch n := n.(type) {
	case *textNode:
		return ctrlNone, ev.write(n.text)
	case *outputNode:
		v, err := ev.eval(n.expr, sc)
		if err != nil {
			return ctrlNone, err
		}
		s, err := ev.str(v)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, ev.write(s)
	case *ifNode:
		for i, cond := range n.conds {
			v, err := ev.eval(cond, sc)
			if err != nil {
				return ctrlNone, err
			}
			if truthy(v) {
				return ev.execBody(n.bodies[i], sc)
			}
		}
		return ev.execBody(n.els, sc)
	case *forNode:
		v, err := ev.eval(n.iter, sc)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, ev.runFor(n, sc, v, 0)
	case *setNode:
		v, err := ev.eval(n.value, sc)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, ev.assign(n.target, v, sc)
	case *setBlockNode:
		s, c, err := ev.capture(func() (ctrl, error) { return ev.execBody(n.body, sc) })
		if err != nil {
			return ctrlNone, err
		}
		v, err := ev.applyFilterChain(n.filters, String(s), sc)
		if err != nil {
			return ctrlNone, err
		}
		return c, ev.assign(n.target, v, sc)
	case *macroNode:
		sc.set(n.m.name, &macro{def: n.m, closure: sc})
		return ctrlNone, nil
	case *callBlockNode:
		caller := &macro{def: n.caller, closure: sc}
		v, err := ev.evalCall(n.call, sc, caller)
		if err != nil {
			return ctrlNone, err
		}
		s, err := ev.str(v)
		if err != nil {
			return ctrlNone, err
		}
		return ctrlNone, ev.write(s)
	case *filterBlockNode:
		s, c, err := ev.capture(func() (ctrl, error) { return ev.execBody(n.body, sc) })
		if err != nil {
			return ctrlNone, err
		}
		v, err := ev.applyFilterChain(n.filters, String(s), sc)
		if err != nil {
			return ctrlNone, err
		}
		out, err := ev.str(v)
		if err != nil {
			return ctrlNone, err
		}
		if err := ev.write(out); err != nil {
			return ctrlNone, err
		}
		return c, nil
	case *withNode:
		inner := newScope(sc)
		vals := make([]Value, len(n.values))
		for i, e := range n.values {
			v, err := ev.eval(e, sc)
			if err != nil {
				return ctrlNone, err
			}
			vals[i] = v
		}
		for i, t := range n.targets {
			if err := ev.assign(t, vals[i], inner); err != nil {
				return ctrlNone, err
			}
		}
		return ev.execBody(n.body, inner)
	case *scopeNode:
		return ev.execBody(n.body, newScope(sc))
	case *breakNode:
		return ctrlBreak, nil
	case *continueNode:
		return ctrlContinue, nil
	}
	return ctrlNone, fmt.Errorf("internal error: unknown node %T", n)
}

// assign binds target (a name, namespace attribute or tuple of names) in
// sc.
func (ev *evaluator) assign(target expr, v Value, sc *scope) error {
	switch t := target.(type) {
	case *nameExpr:
		sc.set(t.name, v)
		return nil
	case *nsRefExpr:
		nv, _ := sc.lookup(t.ns)
		ns, ok := nv.(*namespace)
		if !ok {
			return ev.wrap(t.pos, errorf("cannot assign attribute on non-namespace object"))
		}
		ns.attrs.Set(t.attr, v)
		return nil
	case *tupleExpr:
		items, err := ev.iterate(v)
		if err != nil {
			return ev.wrap(t.pos, err)
		}
		if len(items) != len(t.items) {
			if len(items) > len(t.items) {
				return ev.wrap(t.pos, fmt.Errorf("too many values to unpack (expected %d)", len(t.items)))
			}
			return ev.wrap(t.pos, fmt.Errorf("not enough values to unpack (expected %d, got %d)", len(t.items), len(items)))
		}
		for i, it := range t.items {
			if err := ev.assign(it, items[i], sc); err != nil {
				return err
			}
		}
		return nil
	}
	return ev.wrap(target.position(), errorf("cannot assign to this expression"))
}

// runFor runs a for loop over iterable v. depth0 counts recursive-loop
// levels.
func (ev *evaluator) runFor(n *forNode, sc *scope, v Value, depth0 int) error {
	var items []Value
	var rng *rangeValue
	if r, ok := v.(*rangeValue); ok && n.filter == nil {
		rng = r
	} else if n.filter == nil {
		var err error
		if items, err = ev.iterate(v); err != nil {
			return ev.wrap(n.iter.position(), err)
		}
	} else {
		all, err := ev.iterateLazy(v)
		if err != nil {
			return ev.wrap(n.iter.position(), err)
		}
		{
			for i := 0; i < all.length(); i++ {
				if err := ev.step(1); err != nil {
					return err
				}
				it := all.at(i)
				tmp := newScope(sc)
				if err := ev.assign(n.target, it, tmp); err != nil {
					return err
				}
				ok, err := ev.eval(n.filter, tmp)
				if err != nil {
					return err
				}
				if truthy(ok) {
					if err := ev.checkItems(len(items) + 1); err != nil {
						return err
					}
					items = append(items, it)
				}
			}
		}
	}
	length := len(items)
	at := func(i int) Value { return items[i] }
	if rng != nil {
		length = rng.length()
		at = rng.at
	}
	if length == 0 {
		_, err := ev.execBody(n.els, sc)
		return err
	}
	lv := &loopValue{length: length, at: at, depth0: depth0, node: n, scope: sc}
	for i := 0; i < length; i++ {
		if err := ev.step(1); err != nil {
			return err
		}
		lv.index0 = i
		iter := newScope(sc)
		iter.set("loop", lv)
		if err := ev.assign(n.target, at(i), iter); err != nil {
			return err
		}
		c, err := ev.execBody(n.body, iter)
		if err != nil {
			return err
		}
		if c == ctrlBreak {
			break
		}
	}
	return nil
}

// macro is a macro (or the caller of a call block) bound to the scope it
// was defined in.
type macro struct {
	def     *macroDef
	closure *scope
}

func (m *macro) typeName() string { return "Macro" }

func (m *macro) call(ev *evaluator, args []Value, kw []kwArg) (Value, error) {
	d := m.def
	if ev.depth >= MaxCallDepth {
		return nil, fmt.Errorf("%w: more than %d nested macro calls", ErrTooDeep, MaxCallDepth)
	}
	ev.depth++
	defer func() { ev.depth-- }()
	sc := newScope(m.closure)
	np := len(d.params)
	bound := make([]bool, np)
	for i := 0; i < len(args) && i < np; i++ {
		sc.set(d.params[i], args[i])
		bound[i] = true
	}
	var extraKw []kwArg
	var caller Value
	for _, k := range kw {
		idx := -1
		for i, p := range d.params {
			if p == k.name {
				idx = i
				break
			}
		}
		switch {
		case idx >= len(args):
			sc.set(k.name, k.val)
			bound[idx] = true
		case k.name == "caller" && d.usesCaller:
			caller = k.val
		default:
			extraKw = append(extraKw, k)
		}
	}
	firstDefault := np - len(d.defaults)
	for i, p := range d.params {
		if bound[i] {
			continue
		}
		if i >= firstDefault {
			v, err := ev.eval(d.defaults[i-firstDefault], sc)
			if err != nil {
				return nil, err
			}
			sc.set(p, v)
		} else {
			sc.set(p, Undefined{name: p})
		}
	}
	if d.usesCaller {
		if _, ok := sc.get("caller"); !ok {
			if caller == nil {
				caller = Undefined{hint: "No caller defined"}
			}
			sc.set("caller", caller)
		}
	}
	if d.usesKwargs {
		kd := NewDict()
		for _, k := range extraKw {
			kd.Set(k.name, k.val)
		}
		sc.set("kwargs", kd)
	} else if len(extraKw) > 0 {
		return nil, fmt.Errorf("macro '%s' takes no keyword argument '%s'", d.name, extraKw[0].name)
	}
	if d.usesVarargs {
		var extra []Value
		if len(args) > np {
			extra = append(extra, args[np:]...)
		}
		sc.set("varargs", NewTuple(extra...))
	} else if len(args) > np {
		return nil, fmt.Errorf("macro '%s' takes not more than %d argument(s)", d.name, np)
	}
	s, _, err := ev.capture(func() (ctrl, error) { return ev.execBody(d.body, sc) })
	if err != nil {
		return nil, err
	}
	return String(s), nil
}
