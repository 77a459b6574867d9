package jinja

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// renderCase is one template rendered with HF's settings (trim_blocks,
// lstrip_blocks, raise_exception). Expected outputs are jinja2's: each was
// checked against Python jinja2 3.1's ImmutableSandboxedEnvironment.
type renderCase struct {
	name    string
	src     string
	vars    map[string]any
	want    string
	wantErr string // substring of the error; want is ignored when set
}

var hfOptions = Options{TrimBlocks: true, LStripBlocks: true, Funcs: map[string]Func{"raise_exception": RaiseException}}

func render(t *testing.T, src string, vars map[string]any, opts Options) (string, error) {
	t.Helper()
	tpl, err := Parse(src, opts)
	if err != nil {
		return "", err
	}
	vv := map[string]Value{}
	for k, v := range vars {
		c, err := FromGo(v)
		if err != nil {
			t.Fatalf("FromGo(%v): %v", v, err)
		}
		vv[k] = c
	}
	return tpl.Render(context.Background(), vv)
}

func runCases(t *testing.T, cases []renderCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := render(t, tc.src, tc.vars, hfOptions)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("render(%q) = %q, %v; want error containing %q", tc.src, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("render(%q): %v", tc.src, err)
			}
			if got != tc.want {
				t.Errorf("render(%q)\n got %q\nwant %q", tc.src, got, tc.want)
			}
		})
	}
}

var msgs = []any{
	map[string]any{"role": "system", "content": "  be brief  "},
	map[string]any{"role": "user", "content": "hello"},
	map[string]any{"role": "assistant", "content": "hi"},
}

func TestLiteralsAndPrinting(t *testing.T) {
	runCases(t, []renderCase{
		{name: "text only", src: "Hello world!", want: "Hello world!"},
		{name: "booleans", src: "{{ true }}{{ false }}{{ True }}{{ False }}", want: "TrueFalseTrueFalse"},
		{name: "none", src: "{{ none }}|{{ None }}", want: "None|None"},
		{name: "ints", src: "{{ 0 }} {{ 42 }} {{ 1_000 }} {{ 0x1F }} {{ 0o17 }} {{ 0b101 }}", want: "0 42 1000 31 15 5"},
		{name: "floats", src: "{{ 1.0 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ 1e-05 }} {{ -0.0 }} {{ 1.5e-7 }}",
			want: "1.0 0.30000000000000004 1e+20 1e+16 1000000000000000.0 0.0001 1e-05 -0.0 1.5e-07"},
		{name: "float overflow", src: "{{ 1e300 * 1e10 }}", want: "inf"},
		{name: "strings", src: `{{ 'a' "b" }} {{ "it's" }} {{ 'say "x"' }}`, want: `ab it's say "x"`},
		{name: "escapes", src: `{{ "\u00e9\x41\t|\101|\d" }}`, want: "éA\t|A|\\d"},
		{name: "list repr", src: `{{ [1, "a'b", none, true, 1.5] }}`, want: `[1, "a'b", None, True, 1.5]`},
		{name: "dict repr", src: `{{ {"k": none, 2: "v"} }}`, want: `{'k': None, 2: 'v'}`},
		{name: "tuple repr", src: "{{ (1,) }} {{ () }} {{ (1, 2) }} {{ 1, 2 }}", want: "(1,) () (1, 2) (1, 2)"},
		{name: "nested repr", src: `{{ ["a\nb", 'q"', "it's \"x\""] }}`, want: `['a\nb', 'q"', 'it\'s "x"']`},
		{name: "trailing commas", src: `{{ [1, 2,] }} {{ {"a": 1,} }}`, want: "[1, 2] {'a': 1}"},
		{name: "undefined prints empty", src: "[{{ nothing }}]", want: "[]"},
		{name: "print statement", src: "{% print 1 + 1 %}", want: "2"},
	})
}

func TestOperators(t *testing.T) {
	runCases(t, []renderCase{
		{name: "arithmetic", src: "{{ 1 + 2 * 3 - 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 // -2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 % 2 }}",
			want: "5.0 3 -4 -4 2 -2 1.5"},
		{name: "true division", src: "{{ 4 / 2 }} {{ 10 / 4 }}", want: "2.0 2.5"},
		{name: "power", src: "{{ 2 ** 10 }} {{ 2 ** -2 }} {{ 2.0 ** 3 }} {{ -2 ** 2 }} {{ (-2) ** 2 }} {{ 2 ** 3 ** 2 }}",
			want: "1024 0.25 8.0 4 4 64"},
		{name: "unary", src: "{{ -(3) }} {{ +4 }} {{ -1.5 }} {{ not 1 == 2 }}", want: "-3 4 -1.5 True"},
		{name: "concat", src: `{{ "a" ~ 1 ~ none ~ nothing ~ [1] ~ 1.5 }} {{ "a" ~ (1 + 2) }}`, want: "a1None[1]1.5 a3"},
		{name: "concat binds tighter than plus", src: `{{ "a" ~ 1 + 2 }}`, wantErr: "unsupported operand type(s) for +: 'str' and 'int'"},
		{name: "string plus", src: `{{ "a" + "b" }} {{ [1] + [2] }} {{ (1,) + (2,) }}`, want: "ab [1, 2] (1, 2)"},
		{name: "repetition", src: `{{ 3 * "ab" }} {{ [0] * 3 }} {{ "ab" * 0 }} {{ "x" * -1 }}`, want: "ababab [0, 0, 0]  "},
		{name: "comparisons", src: `{{ 1 == 1.0 }} {{ true == 1 }} {{ "a" < "b" }} {{ [1, 2] < [1, 3] }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ none == none }} {{ [1] == (1,) }} {{ {"a": 1} == {"a": 1.0} }}`,
			want: "True True True True True False True False True"},
		{name: "membership", src: `{{ "a" in "abc" }} {{ 1 in [1, 2] }} {{ "k" in {"k": 1} }} {{ 2 not in [1] }} {{ 3 in range(5) }} {{ 1 in nothing }}`,
			want: "True True True True True False"},
		{name: "and or return operands", src: `{{ 0 or "x" }} {{ "a" and "b" }} {{ "" and "b" }}|{{ [1, 2]|length > 1 and "yes" or "no" }}`,
			want: "x b |yes"},
		{name: "inline if", src: `{{ 1 if true else 2 }} {{ 1 if false else 2 if false else 3 }} [{{ "a" if false }}]`, want: "1 3 []"},
		{name: "int plus str", src: `{{ 1 + "a" }}`, wantErr: "unsupported operand type(s) for +: 'int' and 'str'"},
		{name: "division by zero", src: "{{ 1 / 0 }}", wantErr: "division by zero"},
		{name: "modulo by zero", src: "{{ 1 % 0 }}", wantErr: "modulo by zero"},
		{name: "int overflow (ints are 64-bit, Python's grow)", src: "{{ 9223372036854775807 + 1 }}", wantErr: "integer overflow"},
		{name: "pow overflow (ints are 64-bit, Python's grow)", src: "{{ 10 ** 20 }}", wantErr: "integer overflow"},
		{name: "ordering mismatch", src: `{{ 1 < "a" }}`, wantErr: "'<' not supported between instances of 'int' and 'str'"},
		{name: "in string needs string", src: `{{ 1 in "abc" }}`, wantErr: "requires string as left operand"},
		{name: "undefined arithmetic", src: "{{ nothing + 1 }}", wantErr: "'nothing' is undefined"},
	})
}

func TestAccess(t *testing.T) {
	vars := map[string]any{
		"d":    map[string]any{"a": 1, "items": "shadowed", "_meta": "m"},
		"deep": map[string]any{"x": map[string]any{"y": []any{1, map[string]any{"z": "deep"}}}},
		"msgs": msgs,
	}
	runCases(t, []renderCase{
		{name: "attribute and item", src: `{{ deep.x.y[1].z }} {{ deep["x"]["y"][0] }} {{ deep.x.y.1.z }}`, vars: vars, want: "deep 1 deep"},
		{name: "missing is undefined", src: `{{ d.zz is defined }} {{ d["zz"] is defined }} {{ msgs[9] is defined }} [{{ d.zz }}]`, vars: vars, want: "False False False []"},
		{name: "method beats key on attribute", src: `{{ d.items is string }} {{ d["items"] }}`, vars: vars, want: "False shadowed"},
		{name: "underscore key", src: `{{ d._meta }}`, vars: vars, want: "m"},
		{name: "negative index", src: `{{ msgs[-1].content }} {{ "abc"[-1] }}`, vars: vars, want: "hi c"},
		{name: "none attribute is undefined", src: `{{ none.y is defined }}`, want: "False"},
		{name: "slices", src: `{{ "abc"[::-1] }} {{ [1, 2, 3][1:] }} {{ [1, 2, 3, 4, 5][::2] }} {{ [1, 2, 3, 4, 5][-2::-2] }} {{ "abcdef"[1:-1:2] }} {{ [1, 2, 3][5:] }} {{ (1, 2, 3)[1:] }}`,
			want: "cba [2, 3] [1, 3, 5] [4, 2] bd [] (2, 3)"},
		{name: "reverse messages", src: `{% for m in msgs[::-1] %}{{ loop.index0 }}{{ m.role }} {% endfor %}`, vars: vars, want: "0assistant 1user 2system "},
		{name: "unicode indexing", src: `{{ "héllo"[1] }} {{ "héllo"|length }} {{ "héllo"[-2:] }} {{ "日本語"[1:] }}`, want: "é 5 lo 本語"},
		{name: "slice step zero", src: "{{ [1][::0] }}", wantErr: "slice step cannot be zero"},
		{name: "attribute of undefined", src: "{{ nothing.here }}", wantErr: "'nothing' is undefined"},
		{name: "attribute of missing attribute", src: "{{ d.zz.here }}", vars: vars, wantErr: "'dict object' has no attribute 'zz'"},
		{name: "call undefined", src: "{{ nothing() }}", wantErr: "'nothing' is undefined"},
		{name: "call non-callable", src: "{{ 1() }}", wantErr: "'int' object is not callable"},
	})
}

func TestWhitespaceControl(t *testing.T) {
	runCases(t, []renderCase{
		{name: "trim_blocks", src: "{% if true %}\nx\n{% endif %}\ny", want: "x\ny"},
		{name: "lstrip_blocks", src: "  {% if true %}\n    indented\n  {% endif %}\ndone", want: "    indented\ndone"},
		{name: "lstrip not for prints", src: "  {{ 1 }}\n", want: "  1"},
		{name: "minus strips all whitespace", src: "a  \n {{- 'b' -}} \n\n c", want: "abc"},
		{name: "plus keeps indentation", src: "  {%+ if true %}x{% endif %}", want: "  x"},
		{name: "plus keeps newline", src: "{% if true +%}\nx{% endif %}", want: "\nx"},
		{name: "comments", src: "a\n{#- c #}\n  {# c2 #}\nb\n{{- 'x' -}}\n  c {%+ if true %}d{% endif %}\n", want: "abxc d"},
		{name: "comment trims newline", src: "{# note #}\nx", want: "x"},
		{name: "raw", src: "{% raw %}{{ x }}{% if %}{% endraw %}\nq", want: "{{ x }}{% if %}q"},
		{name: "raw minus", src: "a {%- raw -%} b {%- endraw -%} c", want: "abc"},
		{name: "trailing newline dropped", src: "x\n", want: "x"},
		{name: "only one trailing newline dropped", src: "x\n\n", want: "x\n"},
		{name: "crlf normalised", src: "a\r\nb\rc", want: "a\nb\nc"},
		{name: "strip block whole line", src: "{%- if true -%}   x   {%- endif -%}", want: "x"},
		{name: "dict literal with braces", src: `{{ {"a": {"b": 1}}["a"]["b"] }}`, want: "1"},
	})
}

func TestStatements(t *testing.T) {
	vars := map[string]any{"msgs": msgs, "d": map[string]any{"p": 1, "q": 2}}
	runCases(t, []renderCase{
		{name: "if elif else", src: "{% if 1 == 2 %}A{% elif 1 == 3 %}B{% elif 2 == 2 %}C{% else %}D{% endif %}", want: "C"},
		{name: "for with index", src: "{% for m in msgs %}{{ loop.index }}:{{ m.role }};{% endfor %}", vars: vars, want: "1:system;2:user;3:assistant;"},
		{name: "for else", src: "{% for x in [] %}a{% else %}empty{% endfor %}", want: "empty"},
		{name: "for filter and loop length", src: "{% for x in [1, 2, 3, 4] if x is even %}{{ loop.index }}/{{ loop.length }}{{ loop.last }} {% endfor %}", want: "1/2False 2/2True "},
		{name: "loop variables", src: `{% for x in [1, 2, 3] %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.revindex }}-{{ loop.revindex0 }}-{{ loop.cycle("a", "b") }}-{{ loop.first }}-{{ loop.depth }} {% endfor %}`,
			want: "-2-3-2-a-True-1 1-3-2-1-b-False-1 2--1-0-a-False-1 "},
		{name: "loop changed", src: "{% for x in [1, 2, 2, 3] %}{% if loop.changed(x) %}{{ x }}{% endif %}{% endfor %}", want: "123"},
		{name: "tuple unpacking", src: "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for a, b in [(1, 2), (3, 4)] %}{{ a }}{{ b }}{% endfor %}", vars: vars, want: "p=1;q=2;1234"},
		{name: "iterate string and dict", src: `{% for c in "xy" %}{{ c }}{% endfor %}{% for k in {"p": 1, "q": 2} %}{{ k }}{% endfor %}`, want: "xypq"},
		{name: "break continue", src: "{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{{ x }}{% if x == 3 %}{% break %}{% endif %}{% endfor %}", want: "13"},
		{name: "nested loops", src: "{% for i in [1, 2] %}{% for j in [3, 4] %}{{ loop.index }}{{ i }}{% endfor %}{{ loop.index }}{% endfor %}", want: "1121112222"},
		{name: "recursive loop", src: `{% for item in [{"c": [{"c": []}]}, {"c": []}] recursive %}[{{ loop.depth }}{{ loop(item.c) }}]{% endfor %}`, want: "[1[2]][1]"},
		{name: "unpack mismatch", src: "{% for a, b in [[1, 2, 3]] %}{% endfor %}", wantErr: "too many values to unpack"},
		{name: "set", src: "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}", want: "12(1, 2)"},
		{name: "block set", src: "{% set x %}  hi {{ 1 }} {% endset %}[{{ x }}]", want: "[  hi 1 ]"},
		{name: "block set with filter", src: "{% set x | upper | trim %} hi {% endset %}[{{ x }}]", want: "[HI]"},
		{name: "namespace", src: `{% set ns = namespace(a=1, b=[]) %}{% set ns.a = ns.a + 1 %}{{ ns.a }} {{ ns }} {{ ns["a"] }}`, want: "2 <Namespace {'a': 2, 'b': []}> 2"},
		{name: "namespace from dict", src: `{{ namespace({"q": 1}, r=2).r }}`, want: "2"},
		{name: "namespace found pattern", src: `{% set ns = namespace(found=false) %}{% for m in msgs %}{% if m.role == "system" %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}`, vars: vars, want: "True"},
		{name: "set on non-namespace", src: "{% set x = 1 %}{% set x.a = 2 %}", wantErr: "non-namespace"},
		{name: "macro defaults varargs kwargs", src: "{% macro m(a, b=2) %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1) }}|{{ m(1, 2, 3, c=4) }}|{{ m(b=5, a=6) }}",
			want: "12(){}|12(3,){'c': 4}|65(){}"},
		{name: "macro default sees earlier params", src: "{% macro m(a, b=a * 2) %}{{ b }}{% endmacro %}{{ m(3) }}", want: "6"},
		{name: "macro missing arg undefined", src: "{% macro m(a, b) %}[{{ b }}]{% endmacro %}{{ m(1) }}", want: "[]"},
		{name: "macro too many args", src: "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", wantErr: "takes not more than 1 argument"},
		{name: "macro unknown kwarg", src: "{% macro m(a) %}{% endmacro %}{{ m(z=2) }}", wantErr: "takes no keyword argument 'z'"},
		{name: "recursive macro", src: "{% macro rec(n) %}{{ n }}{% if n > 0 %}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(5) }}", want: "543210"},
		{name: "call block", src: `{% macro f(x) %}<{{ x }}{{ caller() if caller else "" }}>{% endmacro %}{% call f(1) %}body{% endcall %}|{{ f(2) }}`, want: "<1body>|<2>"},
		{name: "call block with args", src: "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(v) each([1, 2]) %}<{{ v }}>{% endcall %}", want: "<1><2>"},
		{name: "filter block", src: "{% filter upper %}abc{% endfilter %}", want: "ABC"},
		{name: "with", src: "{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}[{{ a }}]", want: "3[]"},
		{name: "generation block", src: "{% generation %}{{ 1 }}{% endgeneration %}", want: "1"},
		{name: "raise_exception", src: `{{ raise_exception("boom: " ~ 1) }}`, wantErr: "boom: 1"},
		{name: "cycler and joiner", src: `{% set c = cycler("a", "b") %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }}|{% set j = joiner("|") %}{% for x in [1, 2, 3] %}{{ j() }}{{ x }}{% endfor %}`,
			want: "abab|1|2|3"},
		{name: "dict builtin", src: `{{ dict(a=1, b=2) }} {{ dict({"x": 1}, y=2) }}`, want: "{'a': 1, 'b': 2} {'x': 1, 'y': 2}"},
		{name: "range", src: "{{ range(5)|list }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(3) }} {{ range(10)[2] }} {{ range(10)[::3]|list }}",
			want: "[0, 1, 2, 3, 4] [1, 4, 7] [5, 3, 1] range(0, 3) 2 [0, 3, 6, 9]"},
	})
}

func TestScoping(t *testing.T) {
	runCases(t, []renderCase{
		{name: "loop sets do not leak", src: "{% for i in range(3) %}{% set x = i %}{% endfor %}[{{ x }}]", want: "[]"},
		{name: "loop set resets each iteration", src: "{% set x = 5 %}{% for i in range(2) %}{{ x }}{% set x = i %}{{ x }}{% endfor %}{{ x }}", want: "50515"},
		{name: "if sets leak", src: "{% if true %}{% set y = 7 %}{% endif %}{{ y }}", want: "7"},
		{name: "macro scope is local", src: "{% set x = 1 %}{% macro m() %}{% set x = 2 %}{{ x }}{% endmacro %}{{ m() }}{{ x }}", want: "21"},
		{name: "macro sees globals", src: "{% set g = 'G' %}{% macro m() %}{{ g }}{% endmacro %}{{ m() }}", want: "G"},
		{name: "vars can be shadowed", src: "{% set messages = messages[1:] %}{{ messages|length }}", vars: map[string]any{"messages": msgs}, want: "2"},
	})
}

func TestTests(t *testing.T) {
	vars := map[string]any{"f": "s"}
	runCases(t, []renderCase{
		{name: "defined", src: "{{ x is defined }} {{ x is undefined }} {{ x is not defined }} {{ not x is defined }}", want: "False True True True"},
		{name: "types", src: `{{ none is none }} {{ 1 is number }} {{ true is number }} {{ true is integer }} {{ 1 is integer }} {{ 1.0 is float }} {{ "" is string }} {{ {} is mapping }} {{ true is boolean }}`,
			want: "True True True False True True True True True"},
		{name: "containers", src: `{{ "" is iterable }} {{ 5 is iterable }} {{ [] is sequence }} {{ {} is sequence }} {{ x is iterable }} {{ x is sequence }}`,
			want: "True False True True True True"},
		{name: "true false identity", src: "{{ none is false }} {{ false is false }} {{ 1 is true }} {{ true is true }}", want: "False True False True"},
		{name: "numbers", src: "{{ 3 is divisibleby 3 }} {{ 4 is divisibleby(3) }} {{ 1 is odd }} {{ 7 is even }} {{ 2.0 is even }}", want: "True False True False True"},
		{name: "comparisons", src: "{{ 1 is eq 1 }} {{ 1 is equalto 2 }} {{ 2 is gt 1 }} {{ 2 is lt 1 }} {{ 2 is ge 2 }} {{ 1 is ne 1 }} {{ 1 is in [1] }}", want: "True False True False True False True"},
		{name: "case", src: `{{ "abc" is lower }} {{ "ABC" is upper }} {{ "A1" is upper }} {{ "aB" is lower }}`, want: "True True True False"},
		{name: "callable and sameas", src: `{{ f.upper is callable }} {{ f is callable }} {{ 1 is sameas 1 }} {{ [] is sameas [] }}`, vars: vars, want: "True False True False"},
		{name: "filter and test names", src: `{{ "upper" is filter }} {{ "odd" is test }} {{ "nope" is filter }}`, want: "True True False"},
		{name: "unknown test", src: "{{ 1 is frobnicated }}", wantErr: "no test named 'frobnicated'"},
		{name: "chained is", src: "{{ 1 is odd is odd }}", wantErr: "cannot chain"},
	})
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"{% if x %}", 1, 11, "expected 'endif'"},
		{"a\n{{ 1 + }}", 2, 8, "unexpected end of print statement"},
		{"{% for x in %}", 1, 13, "expected an expression"},
		{"{{ x", 1, 1, "unclosed print statement"},
		{"{# open", 1, 1, "missing end of comment"},
		{"{% raw %}x", 1, 1, "missing end of raw"},
		{"{% frob %}", 1, 4, "unknown tag 'frob'"},
		{"{% include 'x' %}", 1, 4, "not supported"},
		{"{% break %}", 1, 4, "outside of a loop"},
		{"{{ 'abc }}", 1, 4, "unterminated string"},
		{"{{ (1, 2] }}", 1, 9, "unexpected ']', expected ')'"},
		{"{{ x ]}}", 1, 6, "unexpected ']'"},
		{"{% set 1 = 2 %}", 1, 8, "can't assign"},
		{"{% macro m(a=1, b) %}{% endmacro %}", 1, 17, "non-default argument follows default argument"},
		{"{{ f(a=1, 2) }}", 1, 5, "invalid syntax for function call"},
		{"{{ \"\\x4\" }}", 1, 4, "truncated"},
		{"{{ 99999999999999999999 }}", 1, 4, "out of range"},
		{"{{ x $ y }}", 1, 6, "unexpected char"},
		{"{% endif %}", 1, 4, "unknown tag 'endif'"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, err := Parse(tt.src, hfOptions)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want *SyntaxError", tt.src, err)
			}
			if se.Line != tt.line || se.Col != tt.col || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Parse(%q) = %d:%d %q, want %d:%d containing %q", tt.src, se.Line, se.Col, se.Msg, tt.line, tt.col, tt.msg)
			}
		})
	}
}

func TestRenderErrorPosition(t *testing.T) {
	_, err := render(t, "line 1\n  {{ 1 + nothing }}", nil, hfOptions)
	var re *RenderError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v, want *RenderError", err)
	}
	var ue *UndefinedError
	if !errors.As(err, &ue) {
		t.Errorf("error = %v, want it to wrap *UndefinedError", err)
	}
	if re.Line != 2 {
		t.Errorf("error line = %d, want 2", re.Line)
	}
}

func TestFuncs(t *testing.T) {
	var gotArgs []Value
	var gotKw map[string]Value
	opts := hfOptions
	opts.Funcs = map[string]Func{
		"probe": func(args []Value, kw map[string]Value) (Value, error) {
			gotArgs, gotKw = args, kw
			return String("ok"), nil
		},
		"nothing": func([]Value, map[string]Value) (Value, error) { return nil, nil },
		"fail":    func([]Value, map[string]Value) (Value, error) { return nil, errors.New("host says no") },
	}
	got, err := render(t, `{{ probe(1, "a", k=none) }} {{ nothing() }}`, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got != "ok None" {
		t.Errorf("got %q, want %q", got, "ok None")
	}
	if len(gotArgs) != 2 || gotArgs[0] != Int(1) || gotArgs[1] != String("a") || gotKw["k"] != (None{}) {
		t.Errorf("probe got args %v kwargs %v", gotArgs, gotKw)
	}
	if _, err := render(t, "{{ fail() }}", nil, opts); err == nil || !strings.Contains(err.Error(), "host says no") {
		t.Errorf("error = %v, want the host error", err)
	}
	// Variables override globals.
	got, err = render(t, "{{ probe }}", map[string]any{"probe": "var"}, opts)
	if err != nil || got != "var" {
		t.Errorf("got %q, %v; want the variable", got, err)
	}
}

func TestConcurrentRenders(t *testing.T) {
	tpl, err := Parse(`{% set ns = namespace(n=0) %}{% for i in range(200) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}`, hfOptions)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			out, err := tpl.Render(context.Background(), nil)
			if err == nil && out != "19900" {
				err = errors.New("wrong output " + out)
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
