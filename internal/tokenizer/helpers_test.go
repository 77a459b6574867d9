package tokenizer

import (
	"testing"

	"sov.dev/sov/internal/gguf"
)

// roundTripStrings exercise whitespace runs, newlines, tabs, digits,
// contractions, scripts without spaces, emoji sequences, combining marks,
// special-token text and invalid UTF-8.
var roundTripStrings = []string{
	"",
	" ",
	"   ",
	"a",
	"Hello world",
	" Hello  world ",
	"Hello,\tworld!\n",
	"\n\n\nthree newlines\r\n and a CRLF",
	"tabs\t\tand  \t mixed \u00a0 spaces\u3000here",
	"trailing spaces   ",
	"   leading spaces",
	"digits 0 12 345 6789 1234567890 ٣٤٥ ½",
	"I'm you're we've they'll she'd it's DON'T I'M",
	"The quick brown fox jumps over the lazy dog.",
	"日本語のテキストと中文文本",
	"한국어 텍스트",
	"Ελληνικά και Русский текст",
	"emoji 🦙🚀 😶‍🌫️ 👩🏽‍💻 ✅",
	"combining: e\u0301 a\u0308\u0304 \u0915\u094d\u0937",
	"symbols: $100 + 5% = <tag> | x^2 ~ y @home #1 &amp;",
	"code: func main() { fmt.Println(\"hi\") }\n\tif x != nil {\n\t\treturn\n\t}",
	"<s> <|im_start|>user\nhi<|im_end|> </s>",
	"<unk> [INST] <<SYS>>",
	"invalid \xff\xfe bytes \xe4\xbd and a lone \x80",
	"\x00\x01\x1f control \u0085 NEL",
	"mixed'quotes\"and`ticks",
	"....!!!???,,,",
	"a\r\rb\n\r\nc",
	"\u2028\u2029 separators",
	"\ufeffBOM",
	"﷽ long ligature",
}

// kv helpers build metadata for hand-made vocabularies.
func kvStr(k, v string) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeString, V: v}}
}

func kvU32(k string, v uint32) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeUint32, V: v}}
}

func kvBool(k string, v bool) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeBool, V: v}}
}

func kvStrs(k string, v []string) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeString, V: v}}
}

func kvF32s(k string, v []float32) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeFloat32, V: v}}
}

func kvI32s(k string, v []int32) gguf.KV {
	return gguf.KV{Key: k, Value: gguf.Value{Type: gguf.TypeArray, ArrayType: gguf.TypeInt32, V: v}}
}

func mustLoad(t testing.TB, kv []gguf.KV) *Tokenizer {
	t.Helper()
	tok, err := FromGGUF(&gguf.File{Metadata: kv})
	if err != nil {
		t.Fatalf("FromGGUF: %v", err)
	}
	return tok
}
