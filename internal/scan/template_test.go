package scan

import (
	"strings"
	"testing"
	"time"

	"sov.dev/sov/internal/jinja"
)

// Benign chat templates in the style of the families real models ship.
// They are written for these tests (representative, not copies) and use
// what real templates use: namespaces, loop variables, slicing, tojson,
// raise_exception, strftime_now, tool calls, JSON inside strings.
var benignTemplates = map[string]string{
	"chatml": `{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}`,

	"llama3-tools": `{{- bos_token }}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}
{%- if not date_string is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You can call these functions. Reply with JSON.\n\n" }}
    {%- for t in tools %}{{- t | tojson(indent=4) }}{{- "\n\n" }}{%- endfor %}
{%- endif %}
{{- system_message }}{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", "parameters": ' }}{{- tool_call.arguments | tojson }}{{- "}" }}{{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}{{- message.content | tojson }}{%- else %}{{- message.content }}{%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}`,

	"mistral": `{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content'] %}{%- set loop_messages = messages[1:] %}{%- else %}{%- set loop_messages = messages %}{%- endif %}
{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Roles must alternate user and assistant after an optional system message') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}{{- ' [INST] ' + system_message + '\n\n' + message['content'] + ' [/INST]' }}{%- else %}{{- ' [INST] ' + message['content'] + ' [/INST]' }}{%- endif %}
    {%- elif message['role'] == 'assistant' %}{{- ' ' + message['content'] + eos_token}}
    {%- else %}{{- raise_exception('Only user, assistant and an initial system message are supported') }}
    {%- endif %}
{%- endfor %}`,

	"gemma": `{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('No system role') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Roles must alternate') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}`,

	"qwen2.5-tools": `{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}
    {{- "\n\n# Tools\n\nFunction signatures are inside <tools></tools> tags:\n<tools>" }}
    {%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}
    {{- "\n</tools>\n\nAnswer a call as <tool_call>\n{\"name\": <name>, \"arguments\": <json>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}{{- '\n' + message.content }}{%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}
        {{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\n' }}{%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}`,

	"deepseek": `{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}{% set ns = namespace(is_first=false, is_tool=false, system_prompt='', is_first_sp=true) %}{%- for message in messages %}{%- if message['role'] == 'system' %}{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}{% set ns.is_first_sp = false %}{%- else %}{% set ns.system_prompt = ns.system_prompt + '\n\n' + message['content'] %}{%- endif %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}{{'<｜User｜>' + message['content']}}{%- endif %}{%- if message['role'] == 'assistant' and message['content'] is not none %}{% set content = message['content'] %}{% if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}{%- endif %}{%- endfor -%}{% if add_generation_prompt %}{{'<｜Assistant｜><think>\n'}}{% endif %}`,

	"date formats": `{{ strftime_now("%c") }}{{ "%s: %d"|format(name, n) }}`,

	"macro-and-generation": `{%- macro render(msg, prefix='') -%}{{ prefix ~ msg['content'] }}{%- endmacro -%}{# a comment with {{ braces }} #}{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ render(m, prefix='A: ') }}{% endgeneration %}{% else %}{{ render(m) }}{% endif %}{% endfor %}{% raw %}{{ literal }}{% endraw %}`,
}

func TestBenignTemplatesStayInnocuous(t *testing.T) {
	for name, src := range benignTemplates {
		t.Run(name, func(t *testing.T) {
			if _, err := jinja.Parse(src, jinja.Options{}); err != nil {
				t.Fatalf("test template does not parse with sov's engine: %v", err)
			}
			if got := CheckTemplate("tokenizer.chat_template", src); len(got) != 0 {
				t.Errorf("CheckTemplate found %d findings, want none:\n%v", len(got), got)
			}
		})
	}
}

func TestTemplateInjection(t *testing.T) {
	big := "{{ 'hello' }}" + strings.Repeat("padding text ", 6000)
	tests := []struct {
		name string
		src  string
		rule string // a rule that must be among the findings …
		sev  Safety // … with this severity
		max  Safety // the worst severity of all findings
	}{
		{"class mro subclasses", `{{ ''.__class__.__mro__[1].__subclasses__() }}`, "template.dunder", Dangerous, Dangerous},
		{"lipsum globals", `{{ lipsum.__globals__['os'].popen('id').read() }}`, "template.dunder", Dangerous, Dangerous},
		{"cycler init globals", `{{ cycler.__init__.__globals__.os.popen('id').read() }}`, "template.dunder", Dangerous, Dangerous},
		{"joiner init", `{{ joiner.__init__ }}`, "template.dunder", Dangerous, Dangerous},
		{"namespace init", `{{ namespace.__init__.__globals__ }}`, "template.dunder", Dangerous, Dangerous},
		{"builtins import", `{{ x.__builtins__.__import__('os') }}`, "template.dunder", Dangerous, Dangerous},
		{"getattribute", `{{ x.__getattribute__('y') }}`, "template.dunder", Dangerous, Dangerous},
		{"base subclasses", `{{ ().__class__.__base__.__subclasses__() }}`, "template.dunder", Dangerous, Dangerous},
		{"set dunder", `{% set __class__ = 1 %}`, "template.dunder", Dangerous, Dangerous},
		{"dunder kwarg", `{{ dict(__class__=1) }}`, "template.dunder", Dangerous, Dangerous},
		{"mangled private", `{{ self._TemplateReference__context }}`, "template.dunder", Dangerous, Dangerous},
		{"attr literal dunder", `{{ x|attr('__class__') }}`, "template.attr-filter", Dangerous, Dangerous},
		{"attr concatenated", `{{ x|attr('__cl' ~ 'ass__') }}`, "template.attr-filter", Dangerous, Dangerous},
		{"attr computed", `{{ x|attr(name) }}`, "template.attr-filter", Dangerous, Dangerous},
		{"attr plain", `{{ x|attr('items') }}`, "template.attr-filter", Suspicious, Suspicious},
		{"subscript string dunder", `{{ x['__globals__'] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"subscript plus pieces", `{{ x['__cl' + 'ass__'] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"joined list", `{{ x[['__', 'class', '__']|join] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"reversed", `{{ x['__ssalc__'|reverse] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"hex escapes", `{{ x['\x5f\x5fclass\x5f\x5f'] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"unicode escapes", `{{ x["\u005f\u005fmro\u005f\u005f"] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"octal escapes", `{{ x['\137\137subclasses\137\137'] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"repeated underscores", `{{ x['_' * 2 ~ 'class' ~ '_' * 2] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"across tags", `{% set a = '__glo' %}{% set b = 'bals__' %}{{ x[a ~ b] }}`, "template.dunder-string", Dangerous, Dangerous},
		{"computed key", `{% set k = u ~ u ~ 'init' %}{{ x[k ~ 'y'] }}`, "template.computed-attr", Suspicious, Suspicious},
		{"import", `{% import 'os' as os %}`, "template.import", Dangerous, Dangerous},
		{"from import", `{% from 'helpers' import evil %}`, "template.import", Dangerous, Dangerous},
		{"include", `{% include '/etc/passwd' %}`, "template.import", Dangerous, Dangerous},
		{"extends", `{% extends 'base.html' %}`, "template.import", Dangerous, Dangerous},
		{"python internal", `{{ x.mro() }}`, "template.python-internal", Dangerous, Dangerous},
		{"frame globals", `{{ g.gi_frame.f_globals }}`, "template.python-internal", Dangerous, Dangerous},
		{"config", `{{ config.items() }}`, "template.escape-global", Suspicious, Suspicious},
		{"request", `{{ request.application }}`, "template.escape-global", Suspicious, Suspicious},
		{"url_for", `{{ url_for }}`, "template.escape-global", Suspicious, Suspicious},
		{"get_flashed_messages", `{{ get_flashed_messages() }}`, "template.escape-global", Suspicious, Suspicious},
		{"cycler alone", `{{ cycler('a', 'b').next() }}`, "template.escape-global", Suspicious, Suspicious},
		{"joiner alone", `{% set j = joiner(',') %}{{ j() }}`, "template.escape-global", Suspicious, Suspicious},
		{"lipsum alone", `{{ lipsum(1) }}`, "template.escape-global", Suspicious, Suspicious},
		{"self", `{{ self }}`, "template.escape-global", Suspicious, Suspicious},
		{"eval", `{{ eval('1+1') }}`, "template.unknown-global", Suspicious, Suspicious},
		{"private attribute", `{{ foo._private }}`, "template.private-attr", Suspicious, Suspicious},
		{"debug statement", `{% debug %}`, "template.unknown-statement", Suspicious, Suspicious},
		{"do statement", `{% do items.append(1) %}`, "template.unknown-statement", Suspicious, Suspicious},
		{"percent c", `{{ "%c%c"|format(95, 95) }}`, "template.char-building", Suspicious, Suspicious},
		{"percent c operator", `{{ x["%c%c" % (95, 95)] }}`, "template.char-building", Suspicious, Suspicious},
		{"underscore joined", `{% set u = '_' %}{{ u ~ 'x' }}`, "template.char-building", Suspicious, Suspicious},
		{"huge range", `{% for i in range(99999999) %}{% endfor %}`, "template.resource", Suspicious, Suspicious},
		{"huge repetition", `{{ 'a' * 100000000 }}`, "template.resource", Suspicious, Suspicious},
		{"oversized", big, "template.size", Suspicious, Suspicious},
		{"control character", "{{ 'a' }}\x01", "template.hidden-chars", Suspicious, Suspicious},
		{"zero width", "{{ 'a' }}\u200b", "template.hidden-chars", Suspicious, Suspicious},
		{"bidi override", "{{ 'a' }}\u202e", "template.hidden-chars", Suspicious, Suspicious},
		{"bad utf8", "{{ 'a' }}\xff", "template.hidden-chars", Suspicious, Suspicious},
		{"dunder in comment", `{# __globals__ #}{{ 'x' }}`, "template.dunder-text", Suspicious, Suspicious},
		{"dunder in raw", `{% raw %}{{ x.__class__ }}{% endraw %}`, "template.dunder-text", Suspicious, Suspicious},
		{"unterminated tag", `{{ x `, "template.malformed", Suspicious, Suspicious},
		{"unterminated string", `{{ 'abc }}`, "template.malformed", Suspicious, Suspicious},
		{"unterminated comment", `{# abc`, "template.malformed", Suspicious, Suspicious},
		{"odd character", `{{ x $ y }}`, "template.malformed", Suspicious, Suspicious},
		{"dunder after odd character", `{{ x $ y.__class__ }}`, "template.dunder", Dangerous, Dangerous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckTemplate("tokenizer.chat_template", tt.src)
			found := false
			worst := Innocuous
			for _, f := range got {
				worst = Max(worst, f.Severity)
				if f.Rule == tt.rule && f.Severity == tt.sev {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s finding with severity %s; got %v", tt.rule, tt.sev, got)
			}
			if worst != tt.max {
				t.Errorf("worst severity %s, want %s; findings %v", worst, tt.max, got)
			}
		})
	}
}

func TestTemplateFindingLocation(t *testing.T) {
	got := CheckTemplate("tokenizer.chat_template.tool_use", "{{ 'a' }}\n  {{ x.__class__ }}")
	if len(got) == 0 {
		t.Fatal("no findings")
	}
	want := "tokenizer.chat_template.tool_use line 2 column 8"
	if got[0].Location != want {
		t.Errorf("location %q, want %q", got[0].Location, want)
	}
}

// TestTemplatePathological runs inputs that would take quadratic time in
// a careless analysis; each must finish quickly.
func TestTemplatePathological(t *testing.T) {
	inputs := map[string]string{
		"nested subscripts": "{{ " + strings.Repeat("x[", 100_000) + strings.Repeat("]", 100_000) + " }}",
		"nested ranges":     "{{ " + strings.Repeat("range(", 100_000) + " }}",
		"many tags":         strings.Repeat("{{ a ~ '_' }}", 50_000),
		"many strings":      "{{ " + strings.Repeat("'_' ~ ", 100_000) + "'x' }}",
		"unclosed tags":     strings.Repeat("{{", 100_000),
		"many findings":     strings.Repeat("{{ x.__class__ }}\n", 50_000),
	}
	for name, src := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			CheckTemplate("t", src)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestTemplateFindingsCapped(t *testing.T) {
	src := strings.Repeat("{{ x.__class__ }}", 500)
	got := CheckTemplate("t", src)
	n := 0
	for _, f := range got {
		if f.Rule == "template.dunder" {
			n++
		}
	}
	// maxFindingsPerRule recorded plus one summary.
	if n != maxFindingsPerRule+1 {
		t.Errorf("%d template.dunder findings, want %d", n, maxFindingsPerRule+1)
	}
	if last := got[len(got)-1]; !strings.Contains(last.Message, "480 more") {
		t.Errorf("summary %q does not count the 480 left out", last.Message)
	}
}
