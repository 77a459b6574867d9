package jinja

import (
	"sort"
	"testing"
)

// TestBuiltinsNeverPanic calls every filter, test and method with odd
// operands and arguments. Errors are fine; panics are not.
func TestBuiltinsNeverPanic(t *testing.T) {
	operands := []string{`none`, `nothing`, `1`, `-2.5`, `true`, `"aBc,d é"`, `""`, `[1, "a", none]`, `[]`,
		`{"k": [1], "n": none}`, `(1, 2)`, `range(3)`, `ns`, `cycler(1)`}
	argLists := []string{``, `()`, `(none)`, `(1)`, `(-1)`, `("x")`, `("x", 1)`, `(1, 2, 3)`, `([1])`, `({"a": 1})`,
		`(attribute="k")`, `(nope=1)`, `(none, none, none, none, none)`, `("odd")`, `("equalto", 1)`, `(10**6)`}
	var names []string
	for n := range filters {
		names = append(names, n)
	}
	sort.Strings(names)
	opts := hfOptions
	opts.MaxSteps = 100_000
	opts.MaxOutput = 1 << 16
	run := func(src string) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panic: %v", src, r)
			}
		}()
		_, _ = render(t, "{% set ns = namespace(a=1) %}"+src, nil, opts)
	}
	for _, op := range operands {
		for _, name := range names {
			for _, args := range argLists {
				run("{{ (" + op + ")|" + name + args + " }}")
			}
		}
		for name := range tests {
			for _, args := range argLists[:8] {
				run("{{ (" + op + ") is " + name + args + " }}")
			}
		}
		for _, m := range []map[string]bool{strMethods, dictMethods, listMethods, dictMutators, listMutators} {
			for name := range m {
				for _, args := range argLists[1:] {
					run("{{ (" + op + ")." + name + args + " }}")
				}
			}
		}
		for _, g := range []string{"range", "dict", "namespace", "cycler", "joiner"} {
			for _, args := range argLists[1:] {
				run("{{ " + g + args + " }}")
			}
		}
		for _, idx := range []string{`[0]`, `[-1]`, `[9]`, `["k"]`, `[1:]`, `[::-1]`, `[none:none:none]`, `[::0]`, `.k`, `.items`, `.__x`} {
			run("{{ (" + op + ")" + idx + " }}")
		}
		for _, bin := range []string{"+", "-", "*", "/", "//", "%", "**", "~", "==", "<", "in", "and", "or"} {
			for _, other := range operands {
				run("{{ (" + op + ") " + bin + " (" + other + ") }}")
			}
		}
	}
}
