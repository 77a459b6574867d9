package jinja

import (
	"fmt"
	"slices"
)

// maxNesting bounds the depth of nested blocks, brackets and expressions,
// so that hostile templates cannot exhaust the stack.
const maxNesting = 200

type parser struct {
	src       string
	toks      []token
	i         int
	depth     int
	loopDepth int
	macros    []*macroDef // enclosing macro definitions, innermost last
	// exprNesting counts parseExpression calls under way.
	exprNesting int
}

func (p *parser) cur() token { return p.toks[p.i] }

func (p *parser) look() token {
	if p.i+1 < len(p.toks) {
		return p.toks[p.i+1]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) isName(v string) bool {
	t := p.cur()
	return t.typ == tName && t.val == v
}

func (p *parser) isOp(v string) bool {
	t := p.cur()
	return t.typ == tOp && t.val == v
}

func (p *parser) skipOp(v string) bool {
	if p.isOp(v) {
		p.next()
		return true
	}
	return false
}

func (p *parser) skipName(v string) bool {
	if p.isName(v) {
		p.next()
		return true
	}
	return false
}

func (p *parser) fail(pos int, format string, args ...any) error {
	line, col := lineCol(p.src, pos)
	return &SyntaxError{Line: line, Col: col, Msg: sprintf(format, args...)}
}

func (p *parser) unexpected(want string) error {
	t := p.cur()
	if want == "" {
		return p.fail(t.pos, "unexpected %s", quoteTok(t))
	}
	return p.fail(t.pos, "expected %s, got %s", want, quoteTok(t))
}

func quoteTok(t token) string {
	switch t.typ {
	case tName, tOp:
		return "'" + t.val + "'"
	}
	return t.describe()
}

func (p *parser) expectOp(v string) error {
	if !p.skipOp(v) {
		return p.unexpected("'" + v + "'")
	}
	return nil
}

func (p *parser) expectName() (token, error) {
	t := p.cur()
	if t.typ != tName {
		return t, p.unexpected("a name")
	}
	p.next()
	return t, nil
}

func (p *parser) expectType(typ tokType) error {
	if p.cur().typ != typ {
		return p.unexpected(token{typ: typ}.describe())
	}
	p.next()
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxNesting {
		return p.failDeep(p.cur().pos, fmt.Sprintf("more than %d levels", maxNesting))
	}
	return nil
}

func (p *parser) failDeep(pos int, what string) error {
	line, col := lineCol(p.src, pos)
	return &SyntaxError{Line: line, Col: col, Msg: ErrTooDeep.Error() + ": " + what, Err: ErrTooDeep}
}

func (p *parser) leave() { p.depth-- }

func parseTemplate(src string, toks []token) ([]node, error) {
	p := &parser{src: src, toks: toks}
	body, err := p.subparse(nil)
	if err != nil {
		return nil, err
	}
	if t := p.cur(); t.typ != tEOF {
		return nil, p.fail(t.pos, "unexpected %s", quoteTok(t))
	}
	return body, nil
}

// subparse parses template data, print statements and statement blocks
// until one of endTokens starts a block (left as the current token) or the
// template ends.
func (p *parser) subparse(endTokens []string) ([]node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	var body []node
	for {
		t := p.cur()
		switch t.typ {
		case tEOF:
			return body, nil
		case tData:
			p.next()
			body = append(body, &textNode{pos: t.pos, text: t.val})
		case tVarBegin:
			p.next()
			e, err := p.parseTuple(false, true, nil, false, false)
			if err != nil {
				return nil, err
			}
			if err := p.expectType(tVarEnd); err != nil {
				return nil, err
			}
			body = append(body, &outputNode{pos: t.pos, expr: e})
		case tBlockBegin:
			p.next()
			if c := p.cur(); c.typ == tName && slices.Contains(endTokens, c.val) {
				return body, nil
			}
			n, err := p.parseStatement()
			if err != nil {
				return nil, err
			}
			if n != nil {
				body = append(body, n)
			}
			if err := p.expectType(tBlockEnd); err != nil {
				return nil, err
			}
		default:
			return nil, p.fail(t.pos, "unexpected %s", quoteTok(t))
		}
	}
}

// parseStatements parses a block body up to one of endTokens. With drop set
// the end token is consumed.
func (p *parser) parseStatements(endTokens []string, drop bool) ([]node, error) {
	p.skipOp(":")
	if err := p.expectType(tBlockEnd); err != nil {
		return nil, err
	}
	body, err := p.subparse(endTokens)
	if err != nil {
		return nil, err
	}
	if p.cur().typ == tEOF {
		return nil, p.fail(p.cur().pos, "unexpected end of template, expected '%s'", endTokens[len(endTokens)-1])
	}
	if drop {
		p.next()
	}
	return body, nil
}

func (p *parser) parseStatement() (node, error) {
	t := p.cur()
	if t.typ != tName {
		return nil, p.fail(t.pos, "tag name expected")
	}
	switch t.val {
	case "if":
		return p.parseIf()
	case "for":
		return p.parseFor()
	case "set":
		return p.parseSet()
	case "macro":
		return p.parseMacro()
	case "call":
		return p.parseCallBlock()
	case "filter":
		p.next()
		filters, err := p.parseFilters(nil, true)
		if err != nil {
			return nil, err
		}
		body, err := p.parseStatements([]string{"endfilter"}, true)
		if err != nil {
			return nil, err
		}
		return &filterBlockNode{pos: t.pos, filters: filters, body: body}, nil
	case "with":
		return p.parseWith()
	case "print":
		p.next()
		var parts []expr
		for p.cur().typ != tBlockEnd {
			if len(parts) > 0 {
				if err := p.expectOp(","); err != nil {
					return nil, err
				}
			}
			e, err := p.parseExpression(true)
			if err != nil {
				return nil, err
			}
			parts = append(parts, e)
		}
		if len(parts) == 1 {
			return &outputNode{pos: t.pos, expr: parts[0]}, nil
		}
		return &outputNode{pos: t.pos, expr: &tupleExpr{pos: t.pos, items: parts}}, nil
	case "generation":
		p.next()
		body, err := p.parseStatements([]string{"endgeneration"}, true)
		if err != nil {
			return nil, err
		}
		return &scopeNode{pos: t.pos, body: body}, nil
	case "break", "continue":
		p.next()
		if p.loopDepth == 0 {
			return nil, p.fail(t.pos, "'%s' outside of a loop", t.val)
		}
		if t.val == "break" {
			return &breakNode{pos: t.pos}, nil
		}
		return &continueNode{pos: t.pos}, nil
	case "block", "extends", "include", "import", "from", "autoescape":
		return nil, p.fail(t.pos, "tag '%s' is not supported (templates are rendered on their own)", t.val)
	}
	return nil, p.fail(t.pos, "encountered unknown tag '%s'", t.val)
}

func (p *parser) parseIf() (node, error) {
	n := &ifNode{pos: p.next().pos}
	for {
		cond, err := p.parseTuple(false, false, nil, false, false)
		if err != nil {
			return nil, err
		}
		body, err := p.parseStatements([]string{"elif", "else", "endif"}, false)
		if err != nil {
			return nil, err
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch p.next().val {
		case "elif":
			continue
		case "else":
			n.els, err = p.parseStatements([]string{"endif"}, true)
			if err != nil {
				return nil, err
			}
		}
		return n, nil
	}
}

func (p *parser) parseFor() (node, error) {
	n := &forNode{pos: p.next().pos}
	target, err := p.parseAssignTarget([]string{"in"}, false)
	if err != nil {
		return nil, err
	}
	if _, ok := target.(*nsRefExpr); ok {
		return nil, p.fail(target.position(), "can't assign to a namespace attribute in a for loop")
	}
	n.target = target
	if !p.skipName("in") {
		return nil, p.unexpected("'in'")
	}
	if n.iter, err = p.parseTuple(false, false, []string{"recursive"}, false, false); err != nil {
		return nil, err
	}
	if p.skipName("if") {
		if n.filter, err = p.parseExpression(true); err != nil {
			return nil, err
		}
	}
	n.recursive = p.skipName("recursive")
	p.loopDepth++
	n.body, err = p.parseStatements([]string{"endfor", "else"}, false)
	p.loopDepth--
	if err != nil {
		return nil, err
	}
	if p.next().val == "else" {
		if n.els, err = p.parseStatements([]string{"endfor"}, true); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (p *parser) parseSet() (node, error) {
	pos := p.next().pos
	target, err := p.parseAssignTarget(nil, true)
	if err != nil {
		return nil, err
	}
	if p.skipOp("=") {
		v, err := p.parseTuple(false, true, nil, false, false)
		if err != nil {
			return nil, err
		}
		return &setNode{pos: pos, target: target, value: v}, nil
	}
	filters, err := p.parseFilters(nil, false)
	if err != nil {
		return nil, err
	}
	body, err := p.parseStatements([]string{"endset"}, true)
	if err != nil {
		return nil, err
	}
	return &setBlockNode{pos: pos, target: target, filters: filters, body: body}, nil
}

// parseAssignTarget parses a name, a namespace attribute (withNS) or a
// tuple of names.
func (p *parser) parseAssignTarget(extraEnd []string, withNS bool) (expr, error) {
	t, err := p.parseTuple(true, true, extraEnd, false, withNS)
	if err != nil {
		return nil, err
	}
	if !canAssign(t) {
		return nil, p.fail(t.position(), "can't assign to this expression")
	}
	return t, nil
}

func canAssign(e expr) bool {
	switch x := e.(type) {
	case *nameExpr, *nsRefExpr:
		return true
	case *tupleExpr:
		for _, it := range x.items {
			if !canAssign(it) {
				return false
			}
		}
		return true
	}
	return false
}

func (p *parser) parseWith() (node, error) {
	n := &withNode{pos: p.next().pos}
	for p.cur().typ != tBlockEnd {
		if len(n.targets) > 0 {
			if err := p.expectOp(","); err != nil {
				return nil, err
			}
		}
		target, err := p.parseAssignTarget(nil, false)
		if err != nil {
			return nil, err
		}
		if err := p.expectOp("="); err != nil {
			return nil, err
		}
		v, err := p.parseExpression(true)
		if err != nil {
			return nil, err
		}
		n.targets = append(n.targets, target)
		n.values = append(n.values, v)
	}
	var err error
	n.body, err = p.parseStatements([]string{"endwith"}, true)
	return n, err
}

func (p *parser) parseSignature(m *macroDef) error {
	if err := p.expectOp("("); err != nil {
		return err
	}
	for !p.isOp(")") {
		if len(m.params) > 0 {
			if err := p.expectOp(","); err != nil {
				return err
			}
		}
		t, err := p.expectName()
		if err != nil {
			return err
		}
		if p.skipOp("=") {
			d, err := p.parseExpression(true)
			if err != nil {
				return err
			}
			m.defaults = append(m.defaults, d)
		} else if len(m.defaults) > 0 {
			return p.fail(t.pos, "non-default argument follows default argument")
		}
		m.params = append(m.params, t.val)
	}
	p.next()
	return nil
}

// parseMacroBody parses the body of a macro or call block, noting which of
// the special names caller, varargs and kwargs it mentions.
func (p *parser) parseMacroBody(m *macroDef, end string) error {
	p.macros = append(p.macros, m)
	saved := p.loopDepth
	p.loopDepth = 0
	body, err := p.parseStatements([]string{end}, true)
	p.loopDepth = saved
	p.macros = p.macros[:len(p.macros)-1]
	m.body = body
	return err
}

func (p *parser) parseMacro() (node, error) {
	pos := p.next().pos
	name, err := p.expectName()
	if err != nil {
		return nil, err
	}
	m := &macroDef{name: name.val}
	if err := p.parseSignature(m); err != nil {
		return nil, err
	}
	if err := p.parseMacroBody(m, "endmacro"); err != nil {
		return nil, err
	}
	return &macroNode{pos: pos, m: m}, nil
}

func (p *parser) parseCallBlock() (node, error) {
	pos := p.next().pos
	m := &macroDef{name: "caller"}
	if p.isOp("(") {
		if err := p.parseSignature(m); err != nil {
			return nil, err
		}
	}
	e, err := p.parseExpression(true)
	if err != nil {
		return nil, err
	}
	call, ok := e.(*callExpr)
	if !ok {
		return nil, p.fail(e.position(), "expected call")
	}
	if err := p.parseMacroBody(m, "endcall"); err != nil {
		return nil, err
	}
	return &callBlockNode{pos: pos, caller: m, call: call}, nil
}
