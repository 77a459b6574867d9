package jinja

import (
	"fmt"
	"slices"
)

// Expression parsing, following jinja2's precedence: inline if, or, and,
// not, comparisons, + -, ~, * / // %, **, unary signs, then primaries with
// their postfix subscripts, calls, filters and tests.

func (p *parser) isTupleEnd(extraEnd []string) bool {
	t := p.cur()
	switch {
	case t.typ == tVarEnd || t.typ == tBlockEnd || (t.typ == tOp && t.val == ")"):
		return true
	case t.typ == tName && slices.Contains(extraEnd, t.val):
		return true
	}
	return false
}

func (p *parser) parseTuple(simplified, withCond bool, extraEnd []string, explicitParens, withNS bool) (expr, error) {
	pos := p.cur().pos
	var items []expr
	isTuple := false
	for {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		if p.isTupleEnd(extraEnd) {
			break
		}
		var e expr
		var err error
		if simplified {
			e, err = p.parsePrimary(withNS)
		} else {
			e, err = p.parseExpression(withCond)
		}
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		if !p.isOp(",") {
			break
		}
		isTuple = true
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0], nil
		}
		if !explicitParens {
			return nil, p.unexpected("an expression")
		}
	}
	return &tupleExpr{pos: pos, items: items}, nil
}

func (p *parser) parseExpression(withCond bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	pos := p.cur().pos
	var e expr
	var err error
	p.exprNesting++
	defer func() { p.exprNesting-- }()
	if withCond {
		e, err = p.parseCondExpr()
	} else {
		e, err = p.parseOr()
	}
	if err != nil {
		return nil, err
	}
	// Only the outermost expression needs checking: it contains the rest.
	if p.exprNesting == 1 {
		if d := exprDepth(e, maxExprDepth); d > maxExprDepth {
			return nil, p.failDeep(pos, fmt.Sprintf("expression more than %d levels deep", maxExprDepth))
		}
	}
	return e, nil
}

func (p *parser) parseCondExpr() (expr, error) {
	pos := p.cur().pos
	e1, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	for p.skipName("if") {
		e2, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		var e3 expr
		if p.skipName("else") {
			if err := p.enter(); err != nil {
				return nil, err
			}
			e3, err = p.parseCondExpr()
			p.leave()
			if err != nil {
				return nil, err
			}
		}
		e1 = &condExpr{pos: pos, test: e2, then: e1, els_: e3}
	}
	return e1, nil
}

func (p *parser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isName("or") {
		pos := p.next().pos
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &orExpr{pos: pos, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (expr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isName("and") {
		pos := p.next().pos
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &andExpr{pos: pos, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseNot() (expr, error) {
	if p.isName("not") {
		pos := p.next().pos
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: pos, op: "not", x: x}, nil
	}
	return p.parseCompare()
}

var compareOps = map[string]string{"==": "eq", "!=": "ne", "<": "lt", "<=": "lteq", ">": "gt", ">=": "gteq"}

func (p *parser) parseCompare() (expr, error) {
	pos := p.cur().pos
	first, err := p.parseMath1()
	if err != nil {
		return nil, err
	}
	var ops []string
	var rest []expr
	for {
		t := p.cur()
		var op string
		switch {
		case t.typ == tOp && compareOps[t.val] != "":
			op = compareOps[t.val]
			p.next()
		case t.typ == tName && t.val == "in":
			op = "in"
			p.next()
		case t.typ == tName && t.val == "not" && p.look().typ == tName && p.look().val == "in":
			op = "notin"
			p.next()
			p.next()
		}
		if op == "" {
			break
		}
		r, err := p.parseMath1()
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
		rest = append(rest, r)
	}
	if len(ops) == 0 {
		return first, nil
	}
	return &compareExpr{pos: pos, first: first, ops: ops, rest: rest}, nil
}

func (p *parser) parseMath1() (expr, error) {
	l, err := p.parseConcat()
	if err != nil {
		return nil, err
	}
	for p.isOp("+") || p.isOp("-") {
		t := p.next()
		r, err := p.parseConcat()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: t.val, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseConcat() (expr, error) {
	pos := p.cur().pos
	first, err := p.parseMath2()
	if err != nil {
		return nil, err
	}
	if !p.isOp("~") {
		return first, nil
	}
	parts := []expr{first}
	for p.skipOp("~") {
		e, err := p.parseMath2()
		if err != nil {
			return nil, err
		}
		parts = append(parts, e)
	}
	return &concatExpr{pos: pos, parts: parts}, nil
}

func (p *parser) parseMath2() (expr, error) {
	l, err := p.parsePow()
	if err != nil {
		return nil, err
	}
	for p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%") {
		t := p.next()
		r, err := p.parsePow()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: t.val, l: l, r: r}
	}
	return l, nil
}

func (p *parser) parsePow() (expr, error) {
	l, err := p.parseUnary(true)
	if err != nil {
		return nil, err
	}
	for p.isOp("**") {
		t := p.next()
		r, err := p.parseUnary(true)
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: t.pos, op: "**", l: l, r: r}
	}
	return l, nil
}

func (p *parser) parseUnary(withFilter bool) (expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var e expr
	var err error
	if p.isOp("-") || p.isOp("+") {
		t := p.next()
		x, err := p.parseUnary(false)
		if err != nil {
			return nil, err
		}
		e = &unaryExpr{pos: t.pos, op: t.val, x: x}
	} else if e, err = p.parsePrimary(false); err != nil {
		return nil, err
	}
	if e, err = p.parsePostfix(e); err != nil {
		return nil, err
	}
	if withFilter {
		return p.parseFilterExpr(e)
	}
	return e, nil
}

func (p *parser) noteName(name string) {
	if len(p.macros) == 0 {
		return
	}
	m := p.macros[len(p.macros)-1]
	switch name {
	case "caller":
		m.usesCaller = true
	case "varargs":
		m.usesVarargs = true
	case "kwargs":
		m.usesKwargs = true
	}
}

func (p *parser) parsePrimary(withNS bool) (expr, error) {
	t := p.cur()
	switch t.typ {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &constExpr{pos: t.pos, v: Bool(true)}, nil
		case "false", "False":
			return &constExpr{pos: t.pos, v: Bool(false)}, nil
		case "none", "None":
			return &constExpr{pos: t.pos, v: None{}}, nil
		}
		if withNS && p.isOp(".") {
			p.next()
			attr, err := p.expectName()
			if err != nil {
				return nil, err
			}
			return &nsRefExpr{pos: t.pos, ns: t.val, attr: attr.val}, nil
		}
		p.noteName(t.val)
		return &nameExpr{pos: t.pos, name: t.val}, nil
	case tString:
		p.next()
		s := t.val
		for p.cur().typ == tString {
			s += p.next().val
		}
		return &constExpr{pos: t.pos, v: String(s)}, nil
	case tInt:
		p.next()
		return &constExpr{pos: t.pos, v: Int(t.num)}, nil
	case tFloat:
		p.next()
		return &constExpr{pos: t.pos, v: Float(t.f)}, nil
	case tOp:
		switch t.val {
		case "(":
			p.next()
			if err := p.enter(); err != nil {
				return nil, err
			}
			defer p.leave()
			e, err := p.parseTuple(false, true, nil, true, false)
			if err != nil {
				return nil, err
			}
			if err := p.expectOp(")"); err != nil {
				return nil, err
			}
			return e, nil
		case "[":
			return p.parseList()
		case "{":
			return p.parseDict()
		}
	}
	return nil, p.unexpected("")
}

func (p *parser) parseList() (expr, error) {
	pos := p.next().pos
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var items []expr
	for !p.isOp("]") {
		if len(items) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp("]") {
				break
			}
		}
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	p.next()
	return &listExpr{pos: pos, items: items}, nil
}

func (p *parser) parseDict() (expr, error) {
	pos := p.next().pos
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	d := &dictExpr{pos: pos}
	for !p.isOp("}") {
		if len(d.keys) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
			if p.isOp("}") {
				break
			}
		}
		k, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp(":"); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, k)
		d.vals = append(d.vals, v)
	}
	p.next()
	return d, nil
}

func (p *parser) parsePostfix(e expr) (expr, error) {
	for {
		var err error
		switch {
		case p.isOp(".") || p.isOp("["):
			e, err = p.parseSubscript(e)
		case p.isOp("("):
			e, err = p.parseCall(e)
		default:
			return e, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseFilterExpr(e expr) (expr, error) {
	for {
		var err error
		switch {
		case p.isOp("|"):
			var fs []*filterExpr
			fs, err = p.parseFilters(e, false)
			if err == nil {
				e = fs[len(fs)-1]
			}
		case p.isName("is"):
			e, err = p.parseTest(e)
		case p.isOp("("):
			e, err = p.parseCall(e)
		default:
			return e, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseSubscript(obj expr) (expr, error) {
	t := p.next()
	if t.val == "." {
		a := p.next()
		switch a.typ {
		case tName:
			return &getattrExpr{pos: t.pos, obj: obj, attr: a.val}, nil
		case tInt:
			return &getitemExpr{pos: t.pos, obj: obj, key: &constExpr{pos: a.pos, v: Int(a.num)}}, nil
		}
		return nil, p.fail(a.pos, "expected name or number")
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var args []expr
	for !p.isOp("]") {
		if len(args) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		a, err := p.parseSubscribed()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	p.next()
	if len(args) == 1 {
		return &getitemExpr{pos: t.pos, obj: obj, key: args[0]}, nil
	}
	return &getitemExpr{pos: t.pos, obj: obj, key: &tupleExpr{pos: t.pos, items: args}}, nil
}

func (p *parser) parseSubscribed() (expr, error) {
	pos := p.cur().pos
	var parts [3]expr
	if p.isOp(":") {
		p.next()
	} else {
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		if !p.isOp(":") {
			return e, nil
		}
		p.next()
		parts[0] = e
	}
	if !p.isOp(":") && !p.isOp("]") && !p.isOp(",") {
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		parts[1] = e
	}
	if p.skipOp(":") && !p.isOp("]") && !p.isOp(",") {
		e, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		parts[2] = e
	}
	return &sliceExpr{pos: pos, start: parts[0], stop: parts[1], step: parts[2]}, nil
}

type callArgs struct {
	args      []expr
	kwargs    []kwExpr
	dynArgs   expr
	dynKwargs expr
}

func (p *parser) parseCallArgs() (callArgs, error) {
	open := p.next()
	if err := p.enter(); err != nil {
		return callArgs{}, err
	}
	defer p.leave()
	var ca callArgs
	bad := func() error { return p.fail(open.pos, "invalid syntax for function call expression") }
	requireComma := false
	for !p.isOp(")") {
		if requireComma {
			if err := p.expectOp(","); err != nil {
				return ca, err
			}
			if p.isOp(")") {
				break
			}
		}
		switch {
		case p.isOp("*"):
			if ca.dynArgs != nil || ca.dynKwargs != nil {
				return ca, bad()
			}
			p.next()
			e, err := p.parseExpression(true)
			if err != nil {
				return ca, err
			}
			ca.dynArgs = e
		case p.isOp("**"):
			if ca.dynKwargs != nil {
				return ca, bad()
			}
			p.next()
			e, err := p.parseExpression(true)
			if err != nil {
				return ca, err
			}
			ca.dynKwargs = e
		case p.cur().typ == tName && p.look().typ == tOp && p.look().val == "=":
			if ca.dynKwargs != nil {
				return ca, bad()
			}
			name := p.next().val
			p.next()
			e, err := p.parseExpression(true)
			if err != nil {
				return ca, err
			}
			ca.kwargs = append(ca.kwargs, kwExpr{name: name, val: e})
		default:
			if ca.dynArgs != nil || ca.dynKwargs != nil || len(ca.kwargs) > 0 {
				return ca, bad()
			}
			e, err := p.parseExpression(true)
			if err != nil {
				return ca, err
			}
			ca.args = append(ca.args, e)
		}
		requireComma = true
	}
	p.next()
	return ca, nil
}

func (p *parser) parseCall(fn expr) (expr, error) {
	pos := p.cur().pos
	ca, err := p.parseCallArgs()
	if err != nil {
		return nil, err
	}
	return &callExpr{pos: pos, fn: fn, args: ca.args, kwargs: ca.kwargs, dynArgs: ca.dynArgs, dynKwargs: ca.dynKwargs}, nil
}

// parseFilters parses a chain of filters applied to obj. With startInline
// the first filter has no leading pipe (filter blocks).
func (p *parser) parseFilters(obj expr, startInline bool) ([]*filterExpr, error) {
	var out []*filterExpr
	for p.isOp("|") || startInline {
		if !startInline {
			p.next()
		}
		startInline = false
		t, err := p.expectName()
		if err != nil {
			return nil, err
		}
		name := t.val
		for p.skipOp(".") {
			a, err := p.expectName()
			if err != nil {
				return nil, err
			}
			name += "." + a.val
		}
		f := &filterExpr{pos: t.pos, obj: obj, name: name}
		if p.isOp("(") {
			ca, err := p.parseCallArgs()
			if err != nil {
				return nil, err
			}
			f.args, f.kwargs, f.dynArgs, f.dynKwargs = ca.args, ca.kwargs, ca.dynArgs, ca.dynKwargs
		}
		out = append(out, f)
		obj = f
	}
	return out, nil
}

func (p *parser) parseTest(obj expr) (expr, error) {
	is := p.next()
	negated := p.skipName("not")
	t, err := p.expectName()
	if err != nil {
		return nil, err
	}
	name := t.val
	for p.skipOp(".") {
		a, err := p.expectName()
		if err != nil {
			return nil, err
		}
		name += "." + a.val
	}
	te := &testExpr{pos: is.pos, obj: obj, name: name}
	c := p.cur()
	switch {
	case p.isOp("("):
		ca, err := p.parseCallArgs()
		if err != nil {
			return nil, err
		}
		te.args, te.kwargs, te.dynArgs, te.dynKwargs = ca.args, ca.kwargs, ca.dynArgs, ca.dynKwargs
	case c.typ == tName || c.typ == tString || c.typ == tInt || c.typ == tFloat || p.isOp("[") || p.isOp("{"):
		if c.typ == tName && (c.val == "else" || c.val == "or" || c.val == "and") {
			break
		}
		if c.typ == tName && c.val == "is" {
			return nil, p.fail(c.pos, "you cannot chain multiple tests with is")
		}
		a, err := p.parsePrimary(false)
		if err != nil {
			return nil, err
		}
		if a, err = p.parsePostfix(a); err != nil {
			return nil, err
		}
		te.args = []expr{a}
	}
	if negated {
		return &unaryExpr{pos: is.pos, op: "not", x: te}, nil
	}
	return te, nil
}
