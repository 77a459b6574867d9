package hub

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestMatch(t *testing.T) {
	// Expected values follow Python's fnmatch.fnmatchcase.
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*.json", "config.json", true},
		{"*.json", "sub/dir/x.json", true},
		{"*.json", "config.jsonl", false},
		{"*", "", true},
		{"*", "a/b/c", true},
		{"", "", true},
		{"", "a", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
		{"model-?????-of-?????.safetensors", "model-00001-of-00002.safetensors", true},
		{"model-?????-of-?????.safetensors", "model-1-of-2.safetensors", false},
		{"?", "é", true},
		{"??", "é", false},
		{"[abc].txt", "b.txt", true},
		{"[abc].txt", "d.txt", false},
		{"[!abc].txt", "d.txt", true},
		{"[!abc].txt", "a.txt", false},
		{"[a-c]x", "bx", true},
		{"[a-c]x", "dx", false},
		{"[c-a]x", "bx", false},
		{"[]]", "]", true},
		{"[!]]", "]", false},
		{"[!]]", "a", true},
		{"[a-]", "-", true},
		{"[-a]", "-", true},
		{"[", "[", true},
		{"[abc", "[abc", true},
		{"[abc", "a", false},
		{"a[", "a[", true},
		{"*[", "xx[", true},
		{"onnx/*", "onnx/model.onnx", true},
		{"onnx/*", "onnx2/model.onnx", false},
		{"Config.json", "config.json", false},
		{"*/*.gguf", "q4/model.gguf", true},
		{"*/*.gguf", "model.gguf", false},
		{"*.gguf", "Q4_K_M/model.gguf", true},
		{"**", "a/b", true},
		{"*a", strings.Repeat("b", 10000), false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.name, func(t *testing.T) {
			if got := Match(tt.pattern, tt.name); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
			}
		})
	}
}

func TestFilterFiles(t *testing.T) {
	var files []RepoFile
	for _, p := range []string{"config.json", "model.safetensors", "onnx/model.onnx", "onnx/config.json", "q4/model.gguf", "README.md"} {
		files = append(files, RepoFile{Path: p})
	}
	paths := func(fs []RepoFile) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Path)
		}
		return out
	}
	tests := []struct {
		include []string
		want    []string
		wantErr error
	}{
		{nil, paths(files), nil},
		{[]string{"*.json"}, []string{"config.json", "onnx/config.json"}, nil},
		{[]string{"onnx/"}, []string{"onnx/model.onnx", "onnx/config.json"}, nil},
		{[]string{`onnx\`}, []string{"onnx/model.onnx", "onnx/config.json"}, nil},
		{[]string{"*.safetensors", "config.json"}, []string{"config.json", "model.safetensors"}, nil},
		{[]string{"*.json", "config.json"}, []string{"config.json", "onnx/config.json"}, nil},
		{[]string{"*.bin"}, nil, ErrNoMatch},
		{[]string{""}, nil, errors.New("empty include pattern")},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.include), func(t *testing.T) {
			got, err := FilterFiles(files, tt.include)
			if tt.wantErr != nil {
				if err == nil || !(errors.Is(err, tt.wantErr) || strings.Contains(err.Error(), tt.wantErr.Error())) {
					t.Errorf("error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, paths(got)); diff != "" {
				t.Errorf("FilterFiles mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// translate turns a pattern into an anchored regexp with the semantics
// documented on FilterFiles, independently of Match's backtracking.
func translate(pat string) string {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i := 0; i < len(pat); {
		r, w := utf8.DecodeRuneInString(pat[i:])
		switch r {
		case '*':
			b.WriteString(`.*`)
			i += w
		case '?':
			b.WriteString(`.`)
			i += w
		case '[':
			j := i + 1
			neg := j < len(pat) && pat[j] == '!'
			if neg {
				j++
			}
			var class strings.Builder
			first, closed := true, false
			for j < len(pat) {
				if pat[j] == ']' && !first {
					closed = true
					j++
					break
				}
				first = false
				lo, lw := utf8.DecodeRuneInString(pat[j:])
				j += lw
				hi := lo
				if j+1 < len(pat) && pat[j] == '-' && pat[j+1] != ']' {
					var hw int
					hi, hw = utf8.DecodeRuneInString(pat[j+1:])
					j += 1 + hw
				}
				if lo <= hi {
					fmt.Fprintf(&class, `\x{%x}-\x{%x}`, lo, hi)
				}
			}
			if !closed {
				b.WriteString(regexp.QuoteMeta("["))
				i++
				continue
			}
			switch {
			case class.Len() == 0 && neg:
				b.WriteString(`.`)
			case class.Len() == 0:
				b.WriteString(`[^\x00-\x{10FFFF}]`)
			case neg:
				b.WriteString(`[^` + class.String() + `]`)
			default:
				b.WriteString(`[` + class.String() + `]`)
			}
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
			i += w
		}
	}
	b.WriteString(`$`)
	return b.String()
}

func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{"*.json", "a/b.json"}, {"a*b*c", "aXbYc"}, {"[!a-c]?", "dx"}, {"[]]*", "]]"},
		{"[abc", "[abc"}, {"onnx/*", "onnx/m"}, {"?é", "xé"}, {"*a*a*a", "aaaa"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		got := Match(pattern, name)
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) || len(pattern) > 200 {
			return
		}
		re, err := regexp.Compile(translate(pattern))
		if err != nil {
			t.Fatalf("translate(%q) = %q: %v", pattern, translate(pattern), err)
		}
		if want := re.MatchString(name); got != want {
			t.Errorf("Match(%q, %q) = %v, regexp %q says %v", pattern, name, got, translate(pattern), want)
		}
	})
}
