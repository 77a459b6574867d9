package hub

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseNextLink(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{`<https://huggingface.co/api/models/a/b/tree/x?cursor=abc>; rel="next"`, "https://huggingface.co/api/models/a/b/tree/x?cursor=abc", true},
		{`<https://h/p?c=1>; rel=next`, "https://h/p?c=1", true},
		{`<https://h/prev>; rel="prev", <https://h/next>; rel="next"`, "https://h/next", true},
		{`<https://h/a,b>; rel="next"`, "https://h/a,b", true},
		{`<https://h/x>; title="a;b"; REL="Next"`, "https://h/x", true},
		{`<https://h/x>; rel="prev next"`, "https://h/x", true},
		{`<https://h/x>; rel="prev"`, "", false},
		{`<https://h/x>`, "", false},
		{``, "", false},
		{`<https://h/x; rel="next"`, "", false},
		{`garbage; rel="next"`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			got, ok := parseNextLink(tt.header)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseNextLink(%q) = %q, %v; want %q, %v", tt.header, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestNextPage(t *testing.T) {
	base, _ := url.Parse("https://hub.example")
	cur := "https://hub.example/api/models/a/b/tree/c?recursive=true"
	tests := []struct {
		link    string
		want    string
		wantErr bool
	}{
		{"", "", false},
		{`<https://hub.example/api/models/a/b/tree/c?cursor=2>; rel="next"`, "https://hub.example/api/models/a/b/tree/c?cursor=2", false},
		{`</api/models/a/b/tree/c?cursor=2>; rel="next"`, "https://hub.example/api/models/a/b/tree/c?cursor=2", false},
		{`<https://HUB.example:443/x>; rel="next"`, "https://HUB.example:443/x", false},
		{`<https://evil.example/x>; rel="next"`, "", true},
		{`<http://hub.example/x>; rel="next"`, "", true},
		{`<https://hub.example:8443/x>; rel="next"`, "", true},
		{`<https://sub.hub.example/x>; rel="next"`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.link, func(t *testing.T) {
			h := http.Header{}
			if tt.link != "" {
				h.Set("Link", tt.link)
			}
			got, err := nextPage(h, cur, base)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("nextPage = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestSameOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://huggingface.co", "https://huggingface.co/x", true},
		{"https://huggingface.co", "https://huggingface.co:443/x", true},
		{"https://huggingface.co", "https://HuggingFace.co/x", true},
		{"http://127.0.0.1:80", "http://127.0.0.1/x", true},
		{"https://huggingface.co", "https://cdn-lfs.huggingface.co/x", false},
		{"https://huggingface.co", "http://huggingface.co/x", false},
		{"http://127.0.0.1:1234", "http://127.0.0.1:1235/x", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := sameOrigin(a, b); got != tt.want {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestEscape(t *testing.T) {
	tests := []struct{ in, seg, path string }{
		{"main", "main", "main"},
		{"refs/pr/1", "refs%2Fpr%2F1", "refs/pr/1"},
		{"v1.0-rc_2~x", "v1.0-rc_2~x", "v1.0-rc_2~x"},
		{"a b#?%", "a%20b%23%3F%25", "a%20b%23%3F%25"},
		{"dir/é.json", "dir%2F%C3%A9.json", "dir/%C3%A9.json"},
	}
	for _, tt := range tests {
		if got := escapeSegment(tt.in); got != tt.seg {
			t.Errorf("escapeSegment(%q) = %q, want %q", tt.in, got, tt.seg)
		}
		if got := escapePath(tt.in); got != tt.path {
			t.Errorf("escapePath(%q) = %q, want %q", tt.in, got, tt.path)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 0-9/10", 0, 10, true},
		{"bytes 100-199/1000", 100, 1000, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes 5-9/9", 0, 0, false},
		{"bytes 9-5/10", 0, 0, false},
		{"bytes -1-5/10", 0, 0, false},
		{"bytes */10", 0, 0, false},
		{"items 0-9/10", 0, 0, false},
		{"", 0, 0, false},
		{"bytes 0-99999999999999999999/1", 0, 0, false},
	}
	for _, tt := range tests {
		start, total, err := parseContentRange(tt.in)
		if (err == nil) != tt.ok || start != tt.start || total != tt.total {
			t.Errorf("parseContentRange(%q) = %d, %d, %v; want %d, %d, ok %v", tt.in, start, total, err, tt.start, tt.total, tt.ok)
		}
	}
}

func TestDecodeTreePage(t *testing.T) {
	oid := strings.Repeat("1", 40)
	sum := strings.Repeat("2", 64)
	good := `[
	  {"type":"directory","oid":"` + oid + `","size":0,"path":"onnx"},
	  {"type":"file","oid":"` + oid + `","size":12,"path":"config.json"},
	  {"type":"file","oid":"` + oid + `","size":99,"path":"onnx/m.onnx",
	   "lfs":{"oid":"` + sum + `","size":99,"pointerSize":134},"xetHash":"ignored"}
	]`
	got, err := decodeTreePage([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []RepoFile{
		{Path: "config.json", Size: 12, GitOID: oid},
		{Path: "onnx/m.onnx", Size: 99, GitOID: oid, LFS: &LFSInfo{SHA256: sum, Size: 99}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decodeTreePage mismatch (-want +got):\n%s", diff)
	}

	bad := []struct{ name, json, want string }{
		{"not an array", `{"type":"file"}`, "decoding JSON"},
		{"unknown type", `[{"type":"symlink","path":"x","oid":"` + oid + `"}]`, "unknown type"},
		{"traversal", `[{"type":"file","path":"../x","oid":"` + oid + `","size":1}]`, "unsafe path"},
		{"negative size", `[{"type":"file","path":"x","oid":"` + oid + `","size":-1}]`, "negative size"},
		{"huge size", `[{"type":"file","path":"x","oid":"` + oid + `","size":1e30}]`, "decoding JSON"},
		{"missing oid", `[{"type":"file","path":"x","size":1}]`, "git blob id"},
		{"bad lfs oid", `[{"type":"file","path":"x","oid":"` + oid + `","size":1,"lfs":{"oid":"zz","size":1}}]`, "sha256"},
		{"lfs size mismatch", `[{"type":"file","path":"x","oid":"` + oid + `","size":1,"lfs":{"oid":"` + sum + `","size":2}}]`, "differs"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeTreePage([]byte(tt.json))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDecodeInfo(t *testing.T) {
	sha := strings.Repeat("c", 40)
	tests := []struct {
		json      string
		wantGated bool
		wantErr   bool
	}{
		{`{"sha":"` + sha + `","gated":false}`, false, false},
		{`{"sha":"` + sha + `","gated":"manual"}`, true, false},
		{`{"sha":"` + sha + `","gated":"auto"}`, true, false},
		{`{"sha":"` + sha + `","gated":true}`, true, false},
		{`{"sha":"` + sha + `"}`, false, false},
		{`{"sha":"` + sha + `","gated":null}`, false, false},
		{`{"sha":"` + sha + `","gated":[1]}`, false, true},
		{`{"sha":"abc"}`, false, true},
		{`{}`, false, true},
		{`[`, false, true},
	}
	for _, tt := range tests {
		snap, err := decodeInfo([]byte(tt.json))
		if (err != nil) != tt.wantErr {
			t.Errorf("decodeInfo(%s) error = %v, want error %v", tt.json, err, tt.wantErr)
			continue
		}
		if err == nil && (snap.Gated != tt.wantGated || snap.Commit != sha) {
			t.Errorf("decodeInfo(%s) = %+v, want gated %v", tt.json, snap, tt.wantGated)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status   int
		code     string
		msg      string
		hadToken bool
		want     error
	}{
		{404, "RepoNotFound", "", false, ErrRepoNotFound},
		{404, "RevisionNotFound", "", false, ErrRevisionNotFound},
		{401, "GatedRepo", "", false, ErrGated},
		{403, "GatedRepo", "", true, ErrGated},
		{404, "EntryNotFound", "", false, ErrEntryNotFound},
		{401, "", "", false, ErrRepoNotFound},
		{401, "", "Invalid credentials in Authorization header", true, ErrUnauthorized},
		{403, "", "", true, ErrUnauthorized},
		{404, "", "", false, ErrEntryNotFound}, // the notFound default passed below
		{500, "", "", false, nil},
		{429, "", "", false, nil},
	}
	for _, tt := range tests {
		if got := classify(tt.status, tt.code, tt.msg, tt.hadToken, ErrEntryNotFound); got != tt.want {
			t.Errorf("classify(%d, %q, %q, %v) = %v, want %v", tt.status, tt.code, tt.msg, tt.hadToken, got, tt.want)
		}
	}
}

func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Repository not found", "Repository not found"},
		{"evil\x1b[31mred\x1b[0m\r\nline", "evil[31mred[0mline"},
		{"  padded  ", "padded"},
		{strings.Repeat("é", 200), strings.Repeat("é", 150) + "…"},
	}
	for _, tt := range tests {
		if got := sanitize(tt.in); got != tt.want {
			t.Errorf("sanitize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVerifyErrorIs(t *testing.T) {
	var err error = &VerifyError{Path: "x", Algorithm: "sha256", Want: "a", Got: "b"}
	if !errors.Is(err, ErrVerify) {
		t.Error("VerifyError is not ErrVerify")
	}
}

func FuzzDecodeTreePage(f *testing.F) {
	oid := strings.Repeat("1", 40)
	sum := strings.Repeat("2", 64)
	f.Add([]byte(`[{"type":"file","oid":"` + oid + `","size":3,"path":"a/b.json"}]`))
	f.Add([]byte(`[{"type":"file","oid":"` + oid + `","size":9,"path":"w.bin","lfs":{"oid":"` + sum + `","size":9,"pointerSize":130}}]`))
	f.Add([]byte(`[{"type":"directory","oid":"` + oid + `","size":0,"path":"d"}]`))
	f.Add([]byte(`[{"type":"file","oid":"` + oid + `","size":3,"path":"../x"}]`))
	f.Add([]byte(`[{"type":"file","size":-3,"path":"x"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"type":"file","lfs":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		files, err := decodeTreePage(data)
		if err != nil {
			return
		}
		for _, file := range files {
			if err := ValidatePath(file.Path); err != nil {
				t.Errorf("accepted unsafe path: %v", err)
			}
			if err := checkDigests(file); err != nil {
				t.Errorf("accepted bad entry: %v", err)
			}
		}
	})
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-9/10", "bytes 5-9/*", "bytes 9-5/10", "bytes */10", "bytes 1-2/3/4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, total, err := parseContentRange(s)
		if err != nil {
			return
		}
		if start < 0 || total < -1 || (total >= 0 && start >= total) {
			t.Errorf("parseContentRange(%q) = %d, %d", s, start, total)
		}
	})
}

func FuzzParseNextLink(f *testing.F) {
	for _, s := range []string{`<https://h/x?c=2>; rel="next"`, `<a>; rel="prev", <b>; rel=next`, `<x`, `<>; rel="next"`, `;;<;>`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		target, ok := parseNextLink(s)
		if ok && (strings.ContainsAny(target, "<>") || !strings.Contains(s, "<"+target+">")) {
			t.Errorf("parseNextLink(%q) = %q", s, target)
		}
	})
}
