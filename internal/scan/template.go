package scan

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"sov.dev/sov/internal/jinja"
)

// MaxTemplateSize is the size above which a chat template is suspicious:
// real templates, tool-calling ones included, are a few KiB.
const MaxTemplateSize = 64 << 10

// gadgetDunders are the attribute names server-side template injection
// payloads walk through to reach Python's object graph: from any value to
// its class, the class hierarchy, every loaded class, a function's
// globals and the builtins with __import__.
var gadgetDunders = []string{
	"__class__", "__mro__", "__subclasses__", "__globals__", "__builtins__",
	"__init__", "__import__", "__base__", "__bases__", "__dict__",
	"__getattribute__", "__getattr__", "__code__", "__func__", "__self__",
	"__loader__", "__spec__", "__reduce__", "__reduce_ex__", "__getitem__",
	"__module__", "__closure__", "__call__", "__qualname__", "__dir__",
	"__new__", "__subclasshook__", "__setattr__", "__delattr__", "__weakref__",
}

// pythonInternals are attributes without dunders that expose frames,
// code or modules.
var pythonInternals = map[string]bool{
	"mro": true, "func_globals": true, "func_code": true, "func_closure": true,
	"f_globals": true, "f_locals": true, "f_builtins": true, "f_back": true, "f_code": true,
	"gi_frame": true, "gi_code": true, "cr_frame": true, "cr_code": true, "ag_frame": true,
	"ag_code": true, "tb_frame": true, "tb_next": true, "co_code": true, "co_consts": true,
	"im_func": true, "im_self": true, "im_class": true,
	"popen": true, "load_module": true, "import_module": true, "getoutput": true,
	"check_output": true, "exec_module": true,
}

// escapeGlobals are names that jinja2 (or Flask, where templates were
// first attacked) defines and that injection payloads start from; a chat
// template has no use for them.
var escapeGlobals = map[string]bool{
	"cycler": true, "joiner": true, "lipsum": true, "self": true, "config": true,
	"request": true, "url_for": true, "get_flashed_messages": true, "session": true,
}

// pythonGlobals are Python builtins a template could only mean to reach
// outside the sandbox.
var pythonGlobals = map[string]bool{
	"eval": true, "exec": true, "compile": true, "open": true, "getattr": true,
	"setattr": true, "delattr": true, "globals": true, "locals": true, "vars": true,
	"chr": true, "type": true, "object": true, "dir": true, "input": true,
	"breakpoint": true, "help": true, "memoryview": true, "super": true,
	"os": true, "sys": true, "subprocess": true, "builtins": true, "importlib": true,
}

// knownStatements are the statements jinja2 understands without
// extensions (and "generation", which transformers adds), less the ones
// that load other templates.
var knownStatements = map[string]bool{
	"if": true, "elif": true, "else": true, "endif": true,
	"for": true, "endfor": true, "set": true, "endset": true,
	"macro": true, "endmacro": true, "call": true, "endcall": true,
	"filter": true, "endfilter": true, "with": true, "endwith": true,
	"break": true, "continue": true, "raw": true, "endraw": true,
	"block": true, "endblock": true, "autoescape": true, "endautoescape": true,
	"generation": true, "endgeneration": true,
}

// loadStatements load or import other templates: in a chat template they
// can only serve to reach files or modules.
var loadStatements = map[string]bool{"import": true, "from": true, "include": true, "extends": true}

// CheckTemplate statically analyses a Jinja chat template for template
// injection: it never renders it. where names the template in findings
// (a GGUF key such as tokenizer.chat_template, or a file). Rules:
//
//	template.dunder           dunder names in code (x.__class__, __import__, set __x__) — dangerous
//	template.dunder-string    dunder gadget names in strings, also assembled from pieces
//	                          ("__cl" ~ "ass__", [..]|join, reversed, '_' * 2) — dangerous
//	template.python-internal  frame/code/module attributes (mro, f_globals, popen …) — dangerous
//	template.attr-filter      |attr(): dangerous with an underscore or computed name
//	template.import           import, from … import, include, extends — dangerous
//	template.private-attr     attributes starting with an underscore — suspicious
//	template.computed-attr    subscripts with keys built from strings — suspicious
//	template.escape-global    cycler, joiner, lipsum, self, config, request, url_for … — suspicious
//	template.unknown-global   Python builtins (eval, getattr, chr, os …) — suspicious
//	template.unknown-statement statements outside jinja2's own set (do, debug …) — suspicious
//	template.char-building    "%c" formats and underscore literals joined into names — suspicious
//	template.resource         huge ranges, repetitions and powers — suspicious
//	template.size             larger than MaxTemplateSize — suspicious
//	template.hidden-chars     control, zero-width or bidirectional characters, bad UTF-8 — suspicious
//	template.dunder-text      gadget names outside code (lexer disagreement bait) — suspicious
//	template.malformed        what jinja2 would reject (unterminated tags …) — suspicious
//	template.unsupported      sov's own engine cannot parse it — innocuous note
//
// Benign templates (ChatML, Llama, Mistral, Gemma, Qwen, DeepSeek, with
// tools) produce no findings.
func CheckTemplate(where, src string) []Finding {
	res := &FileResult{Findings: []Finding{}, Verdict: Innocuous}
	s := newFindingSink(res)
	a := &tplAnalysis{where: where, src: src, s: s}
	a.run()
	s.flush()
	return res.Findings
}

// tplAnalysis is one run of CheckTemplate.
type tplAnalysis struct {
	where   string
	src     string
	s       *findingSink
	defined map[string]bool // names the template assigns
	dunder  bool            // a dunder was found in code
	lines   []int           // offsets of line starts, built on first use
}

func (a *tplAnalysis) loc(pos int) string {
	if pos < 0 || pos > len(a.src) {
		return a.where
	}
	if a.lines == nil {
		a.lines = []int{0}
		for i := 0; i < len(a.src); i++ {
			if a.src[i] == '\n' {
				a.lines = append(a.lines, i+1)
			}
		}
	}
	// The line is the last line start at or before pos.
	line, _ := slices.BinarySearch(a.lines, pos+1)
	col := pos - a.lines[line-1] + 1
	return fmt.Sprintf("%s line %d column %d", a.where, line, col)
}

func (a *tplAnalysis) add(rule string, sev Safety, pos int, format string, args ...any) {
	if a.s.counts[rule] >= maxFindingsPerRule {
		a.s.add(Finding{Rule: rule, Severity: sev}) // counted, not recorded
		return
	}
	a.s.addf(rule, sev, a.loc(pos), format, args...)
}

func (a *tplAnalysis) run() {
	if n := len(a.src); n > MaxTemplateSize {
		a.add("template.size", Suspicious, -1, "template is %d bytes (real chat templates are a few KiB; limit %d)", n, MaxTemplateSize)
	}
	a.characters()
	tags, problems := tplLex(a.src)
	for _, p := range problems {
		a.add("template.malformed", Suspicious, p.pos, "%s: jinja2 would reject this template", p.msg)
	}
	a.defined = map[string]bool{}
	for _, t := range tags {
		a.collectDefined(t)
	}
	var all []tplTok
	for _, t := range tags {
		a.tag(t)
		all = append(all, t.toks...)
	}
	a.assembled(all, -1)
	if !a.dunder {
		for _, d := range gadgetDunders {
			if i := strings.Index(a.src, d); i >= 0 {
				a.add("template.dunder-text", Suspicious, i, "%s appears outside template code", d)
				break
			}
		}
	}
	if len(a.src) <= MaxTemplateSize {
		if _, err := jinja.Parse(a.src, jinja.Options{}); err != nil {
			a.add("template.unsupported", Innocuous, -1, "sov's template engine cannot parse this template: %v", err)
		}
	}
}

// characters reports bytes a reviewer would not see.
func (a *tplAnalysis) characters() {
	if !utf8.ValidString(a.src) {
		a.add("template.hidden-chars", Suspicious, -1, "template is not valid UTF-8")
		return
	}
	count, first := 0, -1
	for i, r := range a.src {
		if invisibleRune(r) {
			if first < 0 {
				first = i
			}
			count++
		}
	}
	if count > 0 {
		a.add("template.hidden-chars", Suspicious, first,
			"%d control, zero-width or bidirectional characters (first %U)", count, []rune(a.src[first:])[0])
	}
}

// invisibleRune reports control characters other than tab and line
// breaks, and zero-width and bidirectional formatting characters.
func invisibleRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r == 0xad || r == 0x180e || r == 0xfeff:
		return true
	case r >= 0x200b && r <= 0x200f, r >= 0x202a && r <= 0x202e,
		r >= 0x2060 && r <= 0x2064, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// collectDefined records names the tag assigns: set/for/macro/call/with
// targets and macro parameters.
func (a *tplAnalysis) collectDefined(t tplTag) {
	toks := t.toks
	if !t.stmt || len(toks) == 0 || toks[0].kind != tplName {
		return
	}
	switch toks[0].val {
	case "set", "for":
		for _, tk := range toks[1:] {
			if tk.kind == tplOp && (tk.val == "=" || tk.val == "|") || tk.kind == tplName && tk.val == "in" {
				break
			}
			if tk.kind == tplName {
				a.defined[tk.val] = true
			}
		}
	case "macro", "call", "with":
		for i, tk := range toks {
			if tk.kind != tplName || i == 0 {
				continue
			}
			if i+1 < len(toks) && toks[i+1].kind == tplOp && (toks[i+1].val == "=" || toks[i+1].val == "," || toks[i+1].val == ")" || toks[i+1].val == "(") {
				a.defined[tk.val] = true
			}
		}
	}
}

// tag analyses one tag.
func (a *tplAnalysis) tag(t tplTag) {
	toks := t.toks
	if t.stmt {
		switch {
		case len(toks) == 0:
			a.add("template.malformed", Suspicious, t.pos, "empty statement")
		case toks[0].kind == tplName && loadStatements[toks[0].val]:
			a.add("template.import", Dangerous, toks[0].pos, "%q statement: a chat template has nothing to load; this reaches files or Python modules", toks[0].val)
		case toks[0].kind != tplName || !knownStatements[toks[0].val]:
			a.add("template.unknown-statement", Suspicious, toks[0].pos, "unknown statement %q", toks[0].val)
		}
	}
	for i, tk := range toks {
		prev := tplTok{kind: tplOp, val: ""}
		if i > 0 {
			prev = toks[i-1]
		}
		switch tk.kind {
		case tplName:
			a.name(toks, i, prev)
		case tplString:
			a.stringLit(toks, i)
		case tplNumber:
			a.number(toks, i, prev)
		case tplOp:
			if tk.val == "[" && i > 0 && isOperand(prev) {
				a.subscript(toks, i)
			}
		}
	}
	a.assembled(toks, t.pos)
}

// isOperand reports whether t ends an operand, so that a "[" after it
// subscripts (x[k], f()[k], x[0][k], "s"[k]) rather than opening a list.
func isOperand(t tplTok) bool {
	switch t.kind {
	case tplOp:
		return t.val == ")" || t.val == "]"
	case tplName:
		switch t.val {
		case "in", "and", "or", "not", "if", "else", "is", "elif", "set", "for":
			return false
		}
	}
	return true
}

// name checks one name token in context.
func (a *tplAnalysis) name(toks []tplTok, i int, prev tplTok) {
	tk := toks[i]
	v := tk.val
	attr := prev.kind == tplOp && prev.val == "."
	filter := prev.kind == tplOp && prev.val == "|"
	test := prev.kind == tplName && (prev.val == "is" || prev.val == "not" && i >= 2 && toks[i-2].val == "is")
	switch {
	case strings.HasPrefix(v, "__") || attr && strings.Contains(v, "__"):
		a.dunder = true
		a.add("template.dunder", Dangerous, tk.pos, "dunder name %q: the first step of a sandbox escape into Python's object graph", v)
		return
	case attr && pythonInternals[v]:
		a.add("template.python-internal", Dangerous, tk.pos, "attribute %q exposes Python frames, code or modules", v)
		return
	case attr && strings.HasPrefix(v, "_"):
		a.add("template.private-attr", Suspicious, tk.pos, "private attribute %q", v)
		return
	case filter && v == "attr":
		a.attrFilter(toks, i)
		return
	case attr || filter || test:
		return
	}
	// A keyword argument name (f(name=...)) is not a variable.
	if i+1 < len(toks) && toks[i+1].kind == tplOp && toks[i+1].val == "=" && prev.kind == tplOp && (prev.val == "(" || prev.val == ",") {
		return
	}
	if a.defined[v] {
		return
	}
	switch {
	case escapeGlobals[v]:
		a.add("template.escape-global", Suspicious, tk.pos, "%q is a jinja2/Flask global that injection payloads start from; chat templates do not use it", v)
	case pythonGlobals[v]:
		a.add("template.unknown-global", Suspicious, tk.pos, "%q names a Python builtin or module, which a template cannot legitimately reach", v)
	case v == "range":
		if i+2 < len(toks) && toks[i+1].val == "(" {
			for _, t := range toks[i+2:] {
				if t.kind == tplOp && t.val == ")" || t.pos-toks[i].pos > 256 {
					break
				}
				if t.kind == tplNumber && bigNumber(t.val, 100_000) {
					a.add("template.resource", Suspicious, t.pos, "range over %s items: rendering would exhaust time or memory", t.val)
					break
				}
			}
		}
	}
}

// attrFilter checks |attr(...) at toks[i] (the name "attr").
func (a *tplAnalysis) attrFilter(toks []tplTok, i int) {
	pos := toks[i].pos
	if i+1 >= len(toks) || toks[i+1].kind != tplOp || toks[i+1].val != "(" {
		a.add("template.attr-filter", Suspicious, pos, "|attr filter: chat templates read attributes directly")
		return
	}
	arg, ok := constString(toks, i+2)
	switch {
	case !ok:
		a.add("template.attr-filter", Dangerous, pos, "|attr with a name computed at render time: the classic way to smuggle dunder names past filters")
	case strings.HasPrefix(arg, "_") || strings.Contains(arg, "__"):
		a.dunder = true
		a.add("template.attr-filter", Dangerous, pos, "|attr(%q): reaches private or dunder attributes", arg)
	case pythonInternals[arg]:
		a.add("template.attr-filter", Dangerous, pos, "|attr(%q) exposes Python frames, code or modules", arg)
	default:
		a.add("template.attr-filter", Suspicious, pos, "|attr(%q): chat templates read attributes directly", arg)
	}
}

// constString folds the argument that starts at toks[j] when it is only
// string literals joined by ~ or + and closed by ")".
func constString(toks []tplTok, j int) (string, bool) {
	var b strings.Builder
	want := true // expecting a string
	for ; j < len(toks); j++ {
		t := toks[j]
		switch {
		case want && t.kind == tplString:
			b.WriteString(t.val)
			want = false
		case !want && t.kind == tplOp && (t.val == "~" || t.val == "+"):
			want = true
		case !want && t.kind == tplOp && (t.val == ")" || t.val == ","):
			return b.String(), true
		default:
			return "", false
		}
	}
	return "", false
}

// stringLit checks one string literal.
func (a *tplAnalysis) stringLit(toks []tplTok, i int) {
	tk := toks[i]
	v := tk.val
	if d := containsGadget(v); d != "" {
		a.dunder = true
		a.add("template.dunder-string", Dangerous, tk.pos, "string names %s, an object-graph gadget", d)
		return
	}
	if i := strings.Index(v, "__"); i >= 0 && i+2 < len(v) && isIdentByte(v[i+2]) {
		a.add("template.dunder-string", Suspicious, tk.pos, "string holds a dunder-like name %q", v)
		return
	}
	formatted := i+1 < len(toks) && toks[i+1].kind == tplOp && toks[i+1].val == "%" ||
		i+2 < len(toks) && toks[i+1].val == "|" && toks[i+2].val == "format"
	if strings.Contains(v, "%c") && formatted {
		a.add("template.char-building", Suspicious, tk.pos, "%%c format: builds characters from numbers")
		return
	}
	if v != "" && strings.Trim(v, "_") == "" && joinedNear(toks, i) {
		a.add("template.char-building", Suspicious, tk.pos, "underscore literal %q joined into a name: building dunder names", v)
	}
}

// joinedNear reports whether the token at i is an operand of ~, + or *,
// an item of a list that is joined, or the whole value of an assignment.
func joinedNear(toks []tplTok, i int) bool {
	isOp := func(j int, ops ...string) bool {
		if j < 0 || j >= len(toks) || toks[j].kind != tplOp {
			return false
		}
		for _, o := range ops {
			if toks[j].val == o {
				return true
			}
		}
		return false
	}
	if isOp(i-1, "~", "+", "*") || isOp(i+1, "~", "+", "*") {
		return true
	}
	// {% set u = '_' %}: kept for joining later.
	if i == len(toks)-1 && isOp(i-1, "=") {
		return true
	}
	// ['_', ...]|join
	depth := 0
	for j := i + 1; j < len(toks) && j < i+256; j++ {
		switch {
		case isOp(j, "[", "("):
			depth++
		case isOp(j, "]", ")"):
			if depth == 0 {
				return j+2 < len(toks) && isOp(j+1, "|") && toks[j+2].val == "join"
			}
			depth--
		}
	}
	return false
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// containsGadget returns the first gadget dunder s contains, or "".
func containsGadget(s string) string {
	if !strings.Contains(s, "__") {
		return ""
	}
	for _, d := range gadgetDunders {
		if strings.Contains(s, d) {
			return d
		}
	}
	return ""
}

// number checks a numeric literal used to repeat or exponentiate.
func (a *tplAnalysis) number(toks []tplTok, i int, prev tplTok) {
	tk := toks[i]
	if !bigNumber(tk.val, 1_000_000) {
		return
	}
	next := tplTok{}
	if i+1 < len(toks) {
		next = toks[i+1]
	}
	if prev.kind == tplOp && (prev.val == "*" || prev.val == "**") || next.kind == tplOp && (next.val == "*" || next.val == "**") {
		a.add("template.resource", Suspicious, tk.pos, "repetition or power by %s: rendering would exhaust time or memory", tk.val)
	}
}

// bigNumber reports whether the literal s is at least limit.
func bigNumber(s string, limit float64) bool {
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return err == nil && f >= limit
}

// maxSubscriptTokens bounds how far subscript looks for the closing
// bracket, so that nested subscripts cost linear time.
const maxSubscriptTokens = 1024

// subscript checks x[key] at toks[i] ("["): a key built from strings at
// render time is how names are assembled past a literal check.
func (a *tplAnalysis) subscript(toks []tplTok, i int) {
	depth := 0
	building := false
	var lits strings.Builder
	for j := i + 1; j < len(toks) && j <= i+maxSubscriptTokens; j++ {
		t := toks[j]
		if t.kind == tplOp {
			switch t.val {
			case "[", "(", "{":
				depth++
				continue
			case "]", ")", "}":
				if depth == 0 {
					if building {
						key := lits.String()
						if strings.HasPrefix(key, "_") || strings.Contains(key, "__") {
							a.add("template.computed-attr", Dangerous, toks[i].pos, "subscript key assembled from %q: reaches private or dunder attributes", key)
						} else {
							a.add("template.computed-attr", Suspicious, toks[i].pos, "subscript key assembled from strings at render time")
						}
					}
					return
				}
				depth--
				continue
			case "~":
				building = true
			case "%", "+":
				// string formatting or concatenation, not arithmetic
				if toks[j-1].kind == tplString || j+1 < len(toks) && toks[j+1].kind == tplString {
					building = true
				}
			}
		}
		if t.kind == tplString {
			lits.WriteString(t.val)
		}
		if t.kind == tplName && j > 0 && toks[j-1].val == "|" {
			switch t.val {
			case "join", "format", "reverse", "replace":
				building = true
			}
		}
		if t.kind == tplName && j > 0 && toks[j-1].val == "." && (t.val == "format" || t.val == "join") {
			building = true
		}
	}
}

// assembled looks for gadget dunders in the concatenation of all string
// literals of toks, forwards and reversed, with literal repetitions
// ('_' * 2) expanded: pieces split across strings ("__cl" ~ "ass__",
// ['__', 'class', '__']|join, "__ssalc__"|reverse) come together there.
// pos < 0 means toks span the whole template.
func (a *tplAnalysis) assembled(toks []tplTok, pos int) {
	var b strings.Builder
	for i, t := range toks {
		if t.kind != tplString {
			continue
		}
		n := 1
		if i+2 < len(toks) && toks[i+1].kind == tplOp && toks[i+1].val == "*" && toks[i+2].kind == tplNumber {
			if k, err := strconv.Atoi(toks[i+2].val); err == nil && k > 1 && k <= 64 {
				n = k
			}
		}
		if i >= 2 && toks[i-1].kind == tplOp && toks[i-1].val == "*" && toks[i-2].kind == tplNumber {
			if k, err := strconv.Atoi(toks[i-2].val); err == nil && k > 1 && k <= 64 {
				n = k
			}
		}
		if b.Len()+n*len(t.val) > 4*MaxTemplateSize {
			break
		}
		for range n {
			b.WriteString(t.val)
		}
	}
	joined := b.String()
	d := containsGadget(joined)
	if d == "" {
		d = containsGadget(reverseString(joined))
	}
	if d == "" || a.dunder {
		return
	}
	a.dunder = true
	where := "in one tag"
	if pos < 0 {
		where = "across the template"
		pos = -1
	}
	a.add("template.dunder-string", Dangerous, pos, "string pieces %s assemble %s, an object-graph gadget", where, d)
}

func reverseString(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// maxTemplateFile bounds a template file read whole.
const maxTemplateFile = 4 << 20

// checkTemplateFile analyses a standalone template file (*.jinja).
func checkTemplateFile(ra io.ReaderAt, size int64, res *FileResult) error {
	if size > maxTemplateFile {
		res.Add(Finding{Rule: "template.size", Severity: Suspicious,
			Message: fmt.Sprintf("template file is %d bytes (limit %d); not analysed", size, maxTemplateFile)})
		return nil
	}
	b := make([]byte, size)
	if err := readAtExact(ra, b, 0); err != nil {
		return err
	}
	for _, f := range CheckTemplate(res.Path, string(b)) {
		res.Add(f)
	}
	return nil
}
