package jinja

import "testing"

func TestFilters(t *testing.T) {
	people := []any{
		map[string]any{"name": "b", "age": 30, "role": "user"},
		map[string]any{"name": "A", "age": 20, "role": "system"},
		map[string]any{"name": "c", "age": 30},
	}
	vars := map[string]any{"people": people, "msgs": msgs}
	runCases(t, []renderCase{
		{name: "trim", src: `[{{ "  a b  "|trim }}|{{ "xxaxx"|trim("x") }}|{{ nothing|trim }}]`, want: "[a b|a|]"},
		{name: "case", src: `{{ "hello world-foo"|title }} {{ "they're"|title }} {{ "aBC"|capitalize }} {{ "Ab"|upper }}{{ "Ab"|lower }} {{ "ß"|upper }}`,
			want: "Hello World-Foo They're Abc ABab SS"},
		{name: "length and count", src: `{{ "héllo"|length }} {{ [1, 2]|count }} {{ {"a": 1}|length }} {{ nothing|length }} {{ range(7)|length }}`, want: "5 2 1 0 7"},
		{name: "length of int", src: "{{ 5|length }}", wantErr: "has no len()"},
		{name: "default", src: `{{ x|default("d") }} {{ ""|default("d") }} {{ ""|default("d", true) }} {{ none|default("d") }} [{{ x|d }}]`, want: "d  d None []"},
		{name: "first last", src: `{{ [1, 2, 3]|first }} {{ [1, 2, 3]|last }} {{ "abc"|first }} [{{ []|first }}] {{ {"a": 1}|first }}`, want: "1 3 a [] a"},
		{name: "join", src: `{{ [1, "a"]|join("-") }} {{ people|join(", ", attribute="name") }} {{ nothing|join(",") }}`, vars: vars, want: "1-a b, A, c "},
		{name: "list and string", src: `{{ "ab"|list }} {{ {"k": 1}|list }} {{ none|string }} {{ [none, true]|string }}`, want: "['a', 'b'] ['k'] None [None, True]"},
		{name: "int", src: `{{ 3.7|int }} {{ "3.7"|int }} {{ "x"|int(5) }} {{ "0x1A"|int(0, 16) }} {{ " 12 "|int }} {{ "1_000"|int }} {{ "-5"|int }} {{ true|int }} {{ none|int }}`,
			want: "3 3 5 26 12 1000 -5 1 0"},
		{name: "float", src: `{{ 5|float }} {{ "1e3"|float }} {{ "abc"|float }} {{ "abc"|float(1.5) }} {{ " 2.5 "|float }} {{ "inf"|float }}`, want: "5.0 1000.0 0.0 1.5 2.5 inf"},
		{name: "round", src: `{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3|round }} {{ 2.5|round(0, "floor") }} {{ 2.1|round(0, "ceil") }} {{ 1234.5678|round(-2) }} {{ -2.5|round }}`,
			want: "2.0 4.0 2.67 3 2.0 3.0 1200.0 -2.0"},
		{name: "abs", src: "{{ -3|abs }} {{ -1.5|abs }}", want: "3 1.5"},
		{name: "sum min max", src: `{{ [1, 2, 3]|sum }} {{ [[1, 2], [3]]|sum(start=[]) }} {{ people|sum(attribute="age") }} {{ ["b", "A"]|max }} {{ [3, 1]|min }} {{ people|max(attribute="age") }} [{{ []|max }}]`,
			vars: vars, want: "6 [1, 2, 3] 80 b 1 {'age': 30, 'name': 'b', 'role': 'user'} []"}, // FromGo sorts map keys
		{name: "sort", src: `{{ [3, 1, 2]|sort }} {{ ["b", "A", "a"]|sort }} {{ ["b", "A", "a"]|sort(case_sensitive=true) }} {{ [3, 1, 2]|sort(reverse=true) }} {{ people|sort(attribute="age,name")|map(attribute="name")|join }} {{ [none, none]|sort }}`,
			vars: vars, want: "[1, 2, 3] ['A', 'a', 'b'] ['A', 'a', 'b'] [3, 2, 1] Abc [None, None]"},
		{name: "unique", src: `{{ ["b", "A", "a"]|unique|list }} {{ ["A", "a", "b"]|unique(case_sensitive=true)|list }} {{ people|unique(attribute="age")|map(attribute="name")|join }}`,
			vars: vars, want: "['b', 'A'] ['A', 'a', 'b'] bA"},
		{name: "reverse", src: `{{ "abc"|reverse }} {{ [1, 2]|reverse|list }} {{ "日本語"|reverse }}`, want: "cba [2, 1] 語本日"},
		{name: "dictsort and items", src: `{{ {"b": 1, "a": 2}|dictsort }} {{ {"b": 1, "a": 2}|dictsort(by="value") }} {{ {"b": 1, "a": 2}|dictsort(reverse=true) }} {{ {"b": 1, "a": 2}|items|list }} {{ nothing|items|list }}`,
			want: "[('a', 2), ('b', 1)] [('b', 1), ('a', 2)] [('b', 1), ('a', 2)] [('b', 1), ('a', 2)] []"},
		{name: "items of list", src: "{{ [1]|items|list }}", wantErr: "mapping"},
		{name: "select reject", src: `{{ [1, 2, 3, 4]|select("odd")|list }} {{ [1, 2, 3]|reject("equalto", 2)|list }} {{ [1, 2, 3]|select("gt", 1)|list }} {{ [1, none, 0, ""]|select|list }} {{ none|select("odd")|list }}`,
			want: "[1, 3] [1, 3] [2, 3] [1] []"},
		{name: "selectattr rejectattr", src: `{{ msgs|selectattr("role", "equalto", "user")|list|length }} {{ people|selectattr("role")|map(attribute="name")|join }} {{ people|rejectattr("role", "defined")|map(attribute="name")|join }} {{ people|selectattr("age", "gt", 25)|map(attribute="name")|join }}`,
			vars: vars, want: "1 bA c bc"},
		{name: "map", src: `{{ ["a", "b"]|map("upper")|join(",") }} {{ people|map(attribute="role", default="-")|list }} {{ [{"a": {"b": 5}}]|map(attribute="a.b")|list }} {{ ["x", "y"]|map("replace", "x", "z")|join }}`,
			vars: vars, want: "A,B ['user', 'system', '-'] [5] zy"},
		{name: "groupby", src: `{% for g in people|groupby("age") %}{{ g.grouper }}:{{ g.list|map(attribute="name")|join }};{% endfor %}{% for k, items in people|groupby("age") %}{{ k }}{{ items|length }}{% endfor %}`,
			vars: vars, want: "20:A;30:bc;201302"},
		{name: "batch slice", src: `{{ [1, 2, 3, 4, 5]|batch(2)|list }} {{ [1, 2, 3]|batch(2, "x")|list }} {{ [1, 2, 3, 4, 5]|slice(2)|list }} {{ [1, 2, 3, 4]|slice(3, 0)|list }}`,
			want: "[[1, 2], [3, 4], [5]] [[1, 2], [3, 'x']] [[1, 2, 3], [4, 5]] [[1, 2], [3, 0], [4, 0]]"},
		{name: "indent", src: `{{ "a\nb\n\nc"|indent(2) }}|{{ "a\nb"|indent(2, true) }}|{{ "a\n\nb"|indent(2, blank=true) }}|{{ "a\nb"|indent("--") }}`,
			want: "a\n  b\n\n  c|  a\n  b|a\n  \n  b|a\n--b"},
		{name: "replace", src: `{{ "a-b-c"|replace("-", "+") }} {{ "aaa"|replace("a", "b", 2) }} {{ "ab"|replace("", "-") }}`, want: "a+b+c bba -a-b-"},
		{name: "wordcount", src: `{{ "hello world, foo_bar 42"|wordcount }}`, want: "4"},
		{name: "truncate", src: `{{ "abcdefghij"|truncate(7) }} {{ "hello world foo bar"|truncate(12) }} {{ "abcdefghijklmn"|truncate(9, true) }} {{ "abcdefghijklmnop"|truncate(9, true, leeway=0) }} {{ "short"|truncate(3) }}`,
			want: "abcdefghij hello... abcdefghijklmn abcdef... short"},
		{name: "center", src: `[{{ "x"|center(5) }}]`, want: "[  x  ]"},
		{name: "escape safe striptags", src: `{{ "<a>&'\""|e }} {{ "<a>"|safe }} {{ "<b>hi</b>  there &amp; <!-- c -->x"|striptags }}`, want: "&lt;a&gt;&amp;&#39;&#34; <a> hi there & x"},
		{name: "format", src: `{{ "%s and %s"|format(1, 2) }} {{ "%(a)s"|format(a="k") }}`, want: "1 and 2 k"},
		{name: "attr", src: `{{ {"a": 1}|attr("a") }}|{{ "x"|attr("upper") is callable }}`, want: "|True"},
		{name: "pprint", src: `{{ {"a": [1, "x"]}|pprint }}`, want: "{'a': [1, 'x']}"},
		{name: "unknown filter", src: "{{ 1|frobnicate }}", wantErr: "no filter named 'frobnicate'"},
	})
}

func TestToJSON(t *testing.T) {
	tool := map[string]any{"type": "function", "function": map[string]any{"name": "f", "parameters": map[string]any{"type": "object", "properties": map[string]any{}}}}
	runCases(t, []renderCase{
		{name: "default separators", src: `{{ {"a": 1.5, "b": true, "c": none, "d": [1, (2, 3)], "e": {}} |tojson }}`, want: `{"a": 1.5, "b": true, "c": null, "d": [1, [2, 3]], "e": {}}`},
		{name: "no ascii escaping", src: `{{ "é😀 \u2028\u00a0\x7f"|tojson }}`, want: "\"é😀 \u2028\u00a0\x7f\""},
		{name: "control characters", src: `{{ "a\"b\\c\n\t\x01\x08\x0c\r"|tojson }}`, want: `"a\"b\\c\n\t\u0001\b\f\r"`},
		{name: "ensure_ascii", src: `{{ "é😀"|tojson(ensure_ascii=true) }}`, want: `"\u00e9\ud83d\ude00"`},
		{name: "indent", src: `{{ {"a": 1, "b": [1, 2], "c": {}, "d": []}|tojson(indent=2) }}`, want: "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": {},\n  \"d\": []\n}"},
		{name: "indent zero and string", src: `{{ [1, 2]|tojson(indent=0) }}|{{ [1]|tojson(indent="\t") }}`, want: "[\n1,\n2\n]|[\n\t1\n]"},
		{name: "tool schema", src: `{{ tool|tojson(indent=4) }}`, vars: map[string]any{"tool": tool},
			want: "{\n    \"function\": {\n        \"name\": \"f\",\n        \"parameters\": {\n            \"properties\": {},\n            \"type\": \"object\"\n        }\n    },\n    \"type\": \"function\"\n}"},
		{name: "sort keys and separators", src: `{{ {"b": 1, "a": 2}|tojson(sort_keys=true, separators=(",", ":")) }}`, want: `{"a":2,"b":1}`},
		{name: "non-string keys", src: `{{ {1: 2, 1.5: 3, true: 4, none: 5}|tojson }}`, want: `{"1": 4, "1.5": 3, "null": 5}`},
		{name: "floats", src: `{{ [1e16, 0.1, -0.0, 1e300 * 1e10]|tojson }}`, want: "[1e+16, 0.1, -0.0, Infinity]"},
		{name: "undefined", src: `{{ nothing|tojson }}`, wantErr: "Object of type Undefined is not JSON serializable"},
	})
}

func TestMethods(t *testing.T) {
	vars := map[string]any{"d": map[string]any{"a": 1}}
	runCases(t, []renderCase{
		{name: "strip family", src: `[{{ "  x  ".strip() }}|{{ "xxaxx".strip("x") }}|{{ "\n\nx\n".lstrip("\n") }}|{{ "x\n\n".rstrip("\n") }}|{{ "\u3000x\x1c".strip() }}]`, want: "[x|a|x\n|x|x]"},
		{name: "split", src: `{{ "a,b,,c".split(",") }} {{ " a  b ".split() }} {{ "a b c".split(" ", 1) }} {{ " 1 2 3 ".split(none, 1) }} {{ "x</think>y</think>z".split("</think>")[-1] }}`,
			want: "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c'] ['1', '2 3 '] z"},
		{name: "rsplit splitlines", src: `{{ "a b c".rsplit(" ", 1) }} {{ " a b c ".rsplit(none, 1) }} {{ "a\nb\r\nc\n".splitlines() }} {{ "a\nb".splitlines(true) }}`,
			want: "['a b', 'c'] [' a b', 'c'] ['a', 'b', 'c'] ['a\\n', 'b']"},
		{name: "startswith endswith", src: `{{ "abc".startswith(("x", "a")) }} {{ "abc".endswith("bc") }} {{ "abc".startswith("b", 1) }} {{ "<tool_response>x".startswith("<tool_response>") }}`,
			want: "True True True True"},
		{name: "find count index", src: `{{ "abc".find("c") }} {{ "héllo".find("l") }} {{ "abcabc".rfind("b") }} {{ "abcabc".count("bc") }} {{ "x".find("y") }} {{ "abc".index("b") }}`,
			want: "2 2 4 2 -1 1"},
		{name: "index missing", src: `{{ "abc".index("z") }}`, wantErr: "substring not found"},
		{name: "case", src: `{{ "abc".upper() }} {{ "ABC".lower() }} {{ "they're".title() }} {{ "aBC".capitalize() }} {{ "aB".swapcase() }}`, want: "ABC abc They'Re Abc Ab"},
		{name: "replace join", src: `{{ "a-b".replace("-", "+") }} {{ "aaa".replace("a", "b", 2) }} {{ ", ".join(["a", "b"]) }} {{ "-".join("xyz") }}`, want: "a+b bba a, b x-y-z"},
		{name: "join needs strings", src: `{{ ", ".join([1, 2]) }}`, wantErr: "expected str instance, int found"},
		{name: "padding", src: `[{{ "x".center(5) }}|{{ "x".ljust(3) }}|{{ "x".rjust(3, "*") }}|{{ "5".zfill(3) }}|{{ "-5".zfill(4) }}|{{ "日本語".center(7, "*") }}]`, want: "[  x  |x  |**x|005|-005|**日本語**]"},
		{name: "partition and affixes", src: `{{ "a=b=c".partition("=") }} {{ "a=b=c".rpartition("=") }} {{ "pre_x".removeprefix("pre_") }} {{ "x.txt".removesuffix(".txt") }}`,
			want: "('a', '=', 'b=c') ('a=b', '=', 'c') x x"},
		{name: "predicates", src: `{{ "a1".isalnum() }} {{ "12".isdigit() }} {{ " ".isspace() }} {{ "Ab Cd".istitle() }} {{ "ab".isalpha() }} {{ "".isdigit() }} {{ "aB".islower() }}`,
			want: "True True True True True False False"},
		{name: "dict methods", src: `{{ d.get("x", 5) }} {{ d.get("a") }} {{ d.get("zz") }} {{ d.keys()|list }} {{ d.values()|list }} {{ d.items() }} {{ d.items()|list }}`,
			vars: vars, want: "5 1 None ['a'] [1] dict_items([('a', 1)]) [('a', 1)]"},
		{name: "list methods", src: `{{ [1, 2, 1].count(1) }} {{ ["a", "b"].index("b") }} {{ [1].copy() }}`, want: "2 1 [1]"},
		{name: "list append is unsafe", src: `{{ [1, 2].append(3) }}`, wantErr: "access to attribute 'append' of 'list' object is unsafe"},
		{name: "dict update is unsafe", src: `{{ d.update({"b": 2}) }}`, vars: vars, wantErr: "access to attribute 'update' of 'dict' object is unsafe"},
		{name: "unsafe attribute prints empty", src: `[{{ [1].append }}]`, want: "[]"},
	})
}

func TestStringFormatting(t *testing.T) {
	runCases(t, []renderCase{
		{name: "percent", src: `{{ "%05.2f|%-4s|%r|%x|%%|%i|%5d|%+d|%e|%g|%g|%s" % (3.14159, "ab", "q", 255, 7, 42, 5, 12345.678, 0.00001234, 1e20, none) }}`,
			want: "03.14|ab  |'q'|ff|%|7|   42|+5|1.234568e+04|1.234e-05|1e+20|None"},
		{name: "percent more", src: `{{ "%.3s|%5.1f|%-6.2e|%c|%o|%X|%#x" % ("abcdef", 3.14159, 1234.5, 65, 8, 255, 255) }}`, want: "abc|  3.1|1.23e+03|A|10|FF|0xff"},
		{name: "percent mapping and single", src: `{{ "%(a)s-%(b)d" % {"a": "x", "b": 2} }} {{ "%s" % "only" }} {{ "%s" % [1, 2] }}`, want: "x-2 only [1, 2]"},
		{name: "percent too few", src: `{{ "%s %s" % (1,) }}`, wantErr: "not enough arguments"},
		{name: "percent too many", src: `{{ "%s" % (1, 2) }}`, wantErr: "not all arguments converted"},
		{name: "str.format", src: `{{ "{} and {:>5} {name!r}".format(1, "x", name="n") }} {{ "{0}{1}{0}".format("a", "b") }} {{ "{{}}".format() }}`, want: "1 and     x 'n' aba {}"},
		{name: "str.format specs", src: `{{ "{:.2f}|{:,}|{:05d}|{:^7}|{:*<4}|{:x}|{:.1%}|{:+}".format(3.14159, 1234567, 42, "mid", "l", 255, 0.256, 3) }}`,
			want: "3.14|1,234,567|00042|  mid  |l***|ff|25.6%|+3"},
		{name: "str.format fields", src: `{{ "{a[0]}-{b.c}".format(a=[9], b={"c": 1}) }}`, want: "9-1"},
		{name: "str.format sandboxed", src: `{{ "{0.__class__}".format("") }}`, want: ""},
	})
}
