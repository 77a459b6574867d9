package jinja

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestNoHostEscape tries the usual server-side template injection paths.
// Each must either render nothing or fail; none may print anything of the
// host.
func TestNoHostEscape(t *testing.T) {
	probes := []string{
		`{{ ''.__class__ }}`,
		`{{ ''.__class__.__mro__ }}`,
		`{{ ''.__class__.__mro__[1].__subclasses__() }}`,
		`{{ [].__class__.__base__.__subclasses__() }}`,
		`{{ cycler.__init__.__globals__ }}`,
		`{{ cycler.__init__.__globals__.os.popen('id').read() }}`,
		`{{ joiner.__init__.__globals__ }}`,
		`{{ namespace.__init__.__globals__ }}`,
		`{{ lipsum.__globals__ }}`,
		`{{ range.__class__ }}`,
		`{{ raise_exception.__globals__ }}`,
		`{{ self.__init__.__globals__ }}`,
		`{{ config }}{{ request }}{{ self }}{{ os }}`,
		`{{ ''|attr('__class__') }}`,
		`{{ (''|attr('__class__')).__mro__ }}`,
		`{{ ''['__class__'] }}`,
		`{{ "{0.__class__.__mro__}".format("") }}`,
		`{{ "%s" % ''.__class__ }}`,
		`{% set ns = namespace() %}{{ ns._Namespace__attrs }}{{ ns.__class__ }}`,
		`{% for x in [1] %}{{ loop.__class__ }}{{ loop._after }}{% endfor %}`,
		`{% macro m() %}{% endmacro %}{{ m.__globals__ }}{{ m._func }}`,
		`{{ d.__class__ }}{{ d.__init__ }}`,
		`{{ d.update }}{{ d.pop }}{{ [1].append }}`,
		`{{ (1).__class__ }}{{ (1.5).__class__ }}{{ none.__class__ }}{{ true.__class__ }}`,
		`{{ dict.__class__ }}{{ dict(a=1).__class__ }}`,
		`{{ d.get.__self__ }}{{ "".upper.__self__ }}`,
	}
	for _, src := range probes {
		t.Run(src, func(t *testing.T) {
			out, err := render(t, src, map[string]any{"d": map[string]any{"a": 1}}, hfOptions)
			if err == nil && out != "" {
				t.Errorf("render(%q) = %q, want nothing or an error", src, out)
			}
		})
	}
}

func TestStepBudget(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{"nested huge loops", `{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`},
		{"filtered loop", `{% for i in range(100000) if i > -1 %}{% for j in range(100000) if j > -1 %}{% endfor %}{% endfor %}`},
		{"loops in macros", `{% macro m() %}{% for i in range(100000) %}{% endfor %}{% endmacro %}{% for i in range(100000) %}{{ m() }}{% endfor %}`},
		{"work on long strings", `{% set s = "x" * 4000000 %}{% for i in range(100000) %}{% set n = s|length %}{% set c = s[5] %}{% set t = s is lower %}{% endfor %}`},
		{"comparing long strings", `{% set s = "x" * 4000000 %}{% set u = "x" * 4000000 %}{% for i in range(100000) %}{% set e = s == u %}{% set o = s < u %}{% endfor %}`},
		{"comparing shared structure", `{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := hfOptions
			opts.MaxSteps = 200_000
			start := time.Now()
			_, err := render(t, tt.src, nil, opts)
			if !errors.Is(err, ErrStepBudget) {
				t.Fatalf("error = %v, want ErrStepBudget", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v to hit the budget", d)
			}
		})
	}
}

func TestDefaultStepBudgetIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("burns the whole default budget")
	}
	start := time.Now()
	_, err := render(t, `{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`, nil, hfOptions)
	if !errors.Is(err, ErrStepBudget) {
		t.Fatalf("error = %v, want ErrStepBudget", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("default budget took %v", d)
	}
}

func TestRangeLimit(t *testing.T) {
	// jinja2's sandbox refuses ranges of more than 100000 items.
	_, err := render(t, `{% for i in range(10**9) %}{% endfor %}`, nil, hfOptions)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "range too big") {
		t.Errorf("error = %v, want a range-too-big ErrTooLarge", err)
	}
	if _, err := render(t, `{{ range(100000)|length }}`, nil, hfOptions); err != nil {
		t.Errorf("range(100000): %v", err)
	}
}

// allocDuring reports the bytes allocated while f runs.
func allocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestSizeLimits(t *testing.T) {
	const limit = 1 << 20
	tests := []struct {
		name string
		src  string
	}{
		{"string repetition", `{{ 'a' * 10**9 }}`},
		{"list repetition", `{{ [1, 2] * 10**9 }}`},
		{"string doubling", `{% set ns = namespace(s='a') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}`},
		{"plus doubling", `{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}`},
		{"list doubling", `{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}`},
		{"replace growth", `{% set ns = namespace(s='aa') %}{% for i in range(100) %}{% set ns.s = ns.s.replace('a', ns.s) %}{% endfor %}`},
		{"join growth", `{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s.join([ns.s, ns.s, ns.s]) %}{% endfor %}`},
		{"format width", `{{ "%999999999s" % "x" }}`},
		{"padding", `{{ "x".center(10**9) }}`},
		{"indent", `{% set ns = namespace(s='a\nb\nc') %}{% for i in range(100) %}{% set ns.s = ns.s|indent(ns.s|length) %}{% endfor %}`},
		{"printing shared structure", `{% set ns = namespace(a=[1]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}{% endfor %}{{ ns.a }}`},
		{"tojson of shared structure", `{% set ns = namespace(a=[1]) %}{% for i in range(60) %}{% set ns.a = [ns.a, ns.a] %}{% endfor %}{{ ns.a|tojson }}`},
		{"output", `{% for i in range(100000) %}{{ "x" * 1000 }}{% endfor %}`},
		{"block set output", `{% set x %}{% for i in range(100000) %}{{ "x" * 1000 }}{% endfor %}{% endset %}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := hfOptions
			opts.MaxOutput = limit
			var err error
			alloc := allocDuring(func() { _, err = render(t, tt.src, nil, opts) })
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error = %v, want ErrTooLarge", err)
			}
			if alloc > 64*limit {
				t.Errorf("allocated %d MiB on the way to the %d MiB limit", alloc>>20, limit>>20)
			}
		})
	}
}

func TestRecursionLimits(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{"macro recursion", `{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}`},
		{"mutual recursion", `{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}`},
		{"caller recursion", `{% macro m() %}{{ caller() }}{% endmacro %}{% macro r() %}{% call m() %}{{ r() }}{% endcall %}{% endmacro %}{{ r() }}`},
		{"recursive loop", `{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}`},
		{"deep json", `{% set ns = namespace(a=1) %}{% for i in range(1000) %}{% set ns.a = [ns.a] %}{% endfor %}{{ ns.a|tojson }}`},
		{"deep comparison", `{% set ns = namespace(a=1, b=1) %}{% for i in range(1000) %}{% set ns.a = [ns.a] %}{% set ns.b = [ns.b] %}{% endfor %}{{ ns.a == ns.b }}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, tt.src, nil, hfOptions)
			if !errors.Is(err, ErrTooDeep) {
				t.Errorf("error = %v, want ErrTooDeep", err)
			}
		})
	}
}

func TestParserNestingLimits(t *testing.T) {
	const n = 100000
	tests := []struct {
		name string
		src  string
	}{
		{"parentheses", "{{ " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + " }}"},
		{"lists", "{{ " + strings.Repeat("[", n) + strings.Repeat("]", n) + " }}"},
		{"not chain", "{{ " + strings.Repeat("not ", n) + "x }}"},
		{"minus chain", "{{ " + strings.Repeat("-", n) + "1 }}"},
		{"plus chain", "{{ 1" + strings.Repeat(" + 1", n) + " }}"},
		{"attribute chain", "{{ x" + strings.Repeat(".a", n) + " }}"},
		{"filter chain", "{{ x" + strings.Repeat("|trim", n) + " }}"},
		{"call chain", "{{ x" + strings.Repeat("()", n) + " }}"},
		{"inline if chain", "{{ 1" + strings.Repeat(" if x else 1", n) + " }}"},
		{"nested ifs", strings.Repeat("{% if x %}", n) + strings.Repeat("{% endif %}", n)},
		{"nested fors", strings.Repeat("{% for x in y %}", n) + strings.Repeat("{% endfor %}", n)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.src, hfOptions)
			if !errors.Is(err, ErrTooDeep) {
				t.Errorf("error = %v, want ErrTooDeep", err)
			}
		})
	}
	// Moderate nesting is fine.
	src := "{{ " + strings.Repeat("(", 50) + "1" + strings.Repeat(" + 1", 100) + strings.Repeat(")", 50) + " }}"
	if out, err := render(t, src, nil, hfOptions); err != nil || out != "101" {
		t.Errorf("moderate nesting: %q, %v", out, err)
	}
}

func TestContextCancel(t *testing.T) {
	opts := hfOptions
	opts.MaxSteps = 1 << 62
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	tpl, err := Parse(`{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`, opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = tpl.Render(ctx, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("render ran %v past a 50ms deadline", d)
	}
}

func TestHostDataLimits(t *testing.T) {
	loop := map[string]any{}
	loop["self"] = loop
	if _, err := FromGo(loop); err == nil {
		t.Error("FromGo of a cyclic map succeeded")
	}
	deep := strings.Repeat("[", 1000) + strings.Repeat("]", 1000)
	if _, err := FromJSON([]byte(deep)); err == nil {
		t.Error("FromJSON of 1000 nested arrays succeeded")
	}
}
