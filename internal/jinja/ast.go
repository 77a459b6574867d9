package jinja

// Statement nodes.
type (
	node interface{ position() int }

	textNode struct {
		pos  int
		text string
	}
	outputNode struct {
		pos  int
		expr expr
	}
	ifNode struct {
		pos    int
		conds  []expr
		bodies [][]node
		els    []node
	}
	forNode struct {
		pos       int
		target    expr // *nameExpr or *tupleExpr of names
		iter      expr
		filter    expr // nil when absent
		body, els []node
		recursive bool
	}
	setNode struct {
		pos    int
		target expr // *nameExpr, *nsRefExpr or *tupleExpr
		value  expr
	}
	setBlockNode struct {
		pos     int
		target  expr
		filters []*filterExpr // applied in order; their operand is nil
		body    []node
	}
	macroNode struct {
		pos int
		m   *macroDef
	}
	callBlockNode struct {
		pos    int
		caller *macroDef
		call   *callExpr
	}
	filterBlockNode struct {
		pos     int
		filters []*filterExpr
		body    []node
	}
	withNode struct {
		pos     int
		targets []expr
		values  []expr
		body    []node
	}
	scopeNode struct { // a body rendered in its own scope ({% generation %})
		pos  int
		body []node
	}
	breakNode    struct{ pos int }
	continueNode struct{ pos int }
)

// macroDef is the shared definition of a macro or of a call block's caller.
type macroDef struct {
	name        string
	params      []string
	defaults    []expr // for the last len(defaults) params
	body        []node
	usesCaller  bool // the body mentions caller
	usesVarargs bool // the body mentions varargs: extra positional args allowed
	usesKwargs  bool // the body mentions kwargs: extra keyword args allowed
}

func (n *textNode) position() int        { return n.pos }
func (n *outputNode) position() int      { return n.pos }
func (n *ifNode) position() int          { return n.pos }
func (n *forNode) position() int         { return n.pos }
func (n *setNode) position() int         { return n.pos }
func (n *setBlockNode) position() int    { return n.pos }
func (n *macroNode) position() int       { return n.pos }
func (n *callBlockNode) position() int   { return n.pos }
func (n *filterBlockNode) position() int { return n.pos }
func (n *withNode) position() int        { return n.pos }
func (n *scopeNode) position() int       { return n.pos }
func (n *breakNode) position() int       { return n.pos }
func (n *continueNode) position() int    { return n.pos }

// Expression nodes.
type (
	expr interface{ position() int }

	constExpr struct {
		pos int
		v   Value
	}
	nameExpr struct {
		pos  int
		name string
	}
	nsRefExpr struct { // ns.attr as an assignment target
		pos      int
		ns, attr string
	}
	listExpr struct {
		pos   int
		items []expr
	}
	tupleExpr struct {
		pos   int
		items []expr
	}
	dictExpr struct {
		pos        int
		keys, vals []expr
	}
	getattrExpr struct {
		pos  int
		obj  expr
		attr string
	}
	getitemExpr struct {
		pos      int
		obj, key expr
	}
	sliceExpr struct { // only as getitemExpr.key
		pos               int
		start, stop, step expr // nil when omitted
	}
	callExpr struct {
		pos       int
		fn        expr
		args      []expr
		kwargs    []kwExpr
		dynArgs   expr
		dynKwargs expr
	}
	filterExpr struct {
		pos       int
		obj       expr // nil inside filter blocks and set blocks
		name      string
		args      []expr
		kwargs    []kwExpr
		dynArgs   expr
		dynKwargs expr
	}
	testExpr struct {
		pos       int
		obj       expr
		name      string
		args      []expr
		kwargs    []kwExpr
		dynArgs   expr
		dynKwargs expr
	}
	unaryExpr struct {
		pos int
		op  string // "-", "+", "not"
		x   expr
	}
	binaryExpr struct {
		pos  int
		op   string // + - * / // % **
		l, r expr
	}
	andExpr struct {
		pos  int
		l, r expr
	}
	orExpr struct {
		pos  int
		l, r expr
	}
	concatExpr struct {
		pos   int
		parts []expr
	}
	compareExpr struct {
		pos   int
		first expr
		ops   []string // eq ne lt lteq gt gteq in notin
		rest  []expr
	}
	condExpr struct {
		pos              int
		test, then, els_ expr // els_ nil: undefined
	}
)

type kwExpr struct {
	name string
	val  expr
}

func (e *constExpr) position() int   { return e.pos }
func (e *nameExpr) position() int    { return e.pos }
func (e *nsRefExpr) position() int   { return e.pos }
func (e *listExpr) position() int    { return e.pos }
func (e *tupleExpr) position() int   { return e.pos }
func (e *dictExpr) position() int    { return e.pos }
func (e *getattrExpr) position() int { return e.pos }
func (e *getitemExpr) position() int { return e.pos }
func (e *sliceExpr) position() int   { return e.pos }
func (e *callExpr) position() int    { return e.pos }
func (e *filterExpr) position() int  { return e.pos }
func (e *testExpr) position() int    { return e.pos }
func (e *unaryExpr) position() int   { return e.pos }
func (e *binaryExpr) position() int  { return e.pos }
func (e *andExpr) position() int     { return e.pos }
func (e *orExpr) position() int      { return e.pos }
func (e *concatExpr) position() int  { return e.pos }
func (e *compareExpr) position() int { return e.pos }
func (e *condExpr) position() int    { return e.pos }

// maxExprDepth bounds the depth of an expression tree. Operator chains
// such as 1+1+...+1 are parsed in loops but evaluate recursively, so the
// parser checks the depth of every expression it builds.
const maxExprDepth = 400

// exprChildren lists the direct subexpressions of e.
func exprChildren(e expr) []expr {
	var out []expr
	add := func(xs ...expr) {
		for _, x := range xs {
			if x != nil {
				out = append(out, x)
			}
		}
	}
	addKw := func(kws []kwExpr) {
		for _, k := range kws {
			add(k.val)
		}
	}
	switch e := e.(type) {
	case *listExpr:
		add(e.items...)
	case *tupleExpr:
		add(e.items...)
	case *dictExpr:
		add(e.keys...)
		add(e.vals...)
	case *getattrExpr:
		add(e.obj)
	case *getitemExpr:
		add(e.obj, e.key)
	case *sliceExpr:
		add(e.start, e.stop, e.step)
	case *callExpr:
		add(e.fn)
		add(e.args...)
		addKw(e.kwargs)
		add(e.dynArgs, e.dynKwargs)
	case *filterExpr:
		add(e.obj)
		add(e.args...)
		addKw(e.kwargs)
		add(e.dynArgs, e.dynKwargs)
	case *testExpr:
		add(e.obj)
		add(e.args...)
		addKw(e.kwargs)
		add(e.dynArgs, e.dynKwargs)
	case *unaryExpr:
		add(e.x)
	case *binaryExpr:
		add(e.l, e.r)
	case *andExpr:
		add(e.l, e.r)
	case *orExpr:
		add(e.l, e.r)
	case *concatExpr:
		add(e.parts...)
	case *compareExpr:
		add(e.first)
		add(e.rest...)
	case *condExpr:
		add(e.test, e.then, e.els_)
	}
	return out
}

// exprDepth computes the depth of an expression tree without recursion,
// stopping early once it passes limit.
func exprDepth(root expr, limit int) int {
	type item struct {
		e     expr
		depth int
	}
	stack := []item{{root, 1}}
	max := 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > max {
			max = it.depth
			if max > limit {
				return max
			}
		}
		for _, c := range exprChildren(it.e) {
			stack = append(stack, item{c, it.depth + 1})
		}
	}
	return max
}
