package jinja

import (
	"context"
	"fmt"
	"testing"
)

// A ChatML template with the constructs reasoning templates use: a
// namespace, a reversed walk, string methods and per-message branches.
const benchTemplate = `{%- set ns = namespace(last=messages|length - 1, searching=true) %}
{%- for m in messages[::-1] %}
    {%- if ns.searching and m.role == "user" and not m.content.startswith("<tool_response>") %}
        {%- set ns.searching = false %}
        {%- set ns.last = messages|length - 1 - loop.index0 %}
    {%- endif %}
{%- endfor %}
{%- for m in messages %}
    {%- if m.role == "assistant" and "</think>" in m.content %}
        {%- set answer = m.content.split("</think>")[-1].lstrip("\n") %}
        {{- "<|im_start|>assistant\n" ~ answer ~ "<|im_end|>\n" }}
    {%- else %}
        {{- "<|im_start|>" ~ m.role ~ "\n" ~ m.content | trim ~ "<|im_end|>\n" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{ "<|im_start|>assistant\n" }}{% endif %}`

func benchMessages(n int) Value {
	items := make([]Value, n)
	for i := range items {
		d := NewDict()
		if i%2 == 0 {
			d.Set("role", String("user"))
			d.Set("content", String(fmt.Sprintf("Question number %d, with some words in it.", i)))
		} else {
			d.Set("role", String("assistant"))
			d.Set("content", String("<think>\nreasoning\n</think>\n\nAn answer of moderate length."))
		}
		items[i] = d
	}
	return NewList(items...)
}

func BenchmarkRenderChat(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n, "msgs"), func(b *testing.B) {
			tpl, err := Parse(benchTemplate, hfOptions)
			if err != nil {
				b.Fatal(err)
			}
			vars := map[string]Value{"messages": benchMessages(n), "add_generation_prompt": Bool(true)}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tpl.Render(context.Background(), vars); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLoop(b *testing.B) {
	tpl, err := Parse(`{% for i in range(1000) %}{% set x = i * 2 %}{% endfor %}`, hfOptions)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(context.Background(), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchTemplate, hfOptions); err != nil {
			b.Fatal(err)
		}
	}
}
