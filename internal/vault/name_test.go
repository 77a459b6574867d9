package vault

import "testing"

func TestParseName(t *testing.T) {
	tests := []struct {
		in, name, tag string
		ok            bool
	}{
		{"llama", "llama", "latest", true},
		{"llama:3.2-1b", "llama", "3.2-1b", true},
		{"Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-0.5B-Instruct", "latest", true},
		{"registry.local:5000/team/model:v1", "", "", false}, // ports are not part of names
		{"org/sub/model:q4_k_m", "org/sub/model", "q4_k_m", true},
		{"a__b", "a__b", "latest", true},
		{"", "", "", false},
		{"../etc", "", "", false},
		{"a/../b", "", "", false},
		{"/abs", "", "", false},
		{"a//b", "", "", false},
		{"a/", "", "", false},
		{"-lead", "", "", false},
		{"a..b", "", "", false},
		{"name:", "", "", false},
		{"name:bad tag", "", "", false},
		{"name:.hidden", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseName(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseName(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && (r.Name != tt.name || r.Tag != tt.tag) {
				t.Errorf("ParseName(%q) = %s:%s, want %s:%s", tt.in, r.Name, r.Tag, tt.name, tt.tag)
			}
		})
	}
}

func TestParseReferenceDigests(t *testing.T) {
	full := "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if r, err := ParseReference(full); err != nil || r.Digest.String() != full {
		t.Errorf("full digest: %+v %v", r, err)
	}
	if r, err := ParseReference("0123456789ab"); err != nil || r.Prefix != "0123456789ab" {
		t.Errorf("prefix: %+v %v", r, err)
	}
	if _, err := ParseReference("sha256:../../x"); err == nil {
		t.Error("invalid digest accepted")
	}
	if r, err := ParseReference("abc"); err != nil || r.Name != "abc" {
		t.Errorf("short hex is a name: %+v %v", r, err)
	}
}

func TestDefaultName(t *testing.T) {
	tests := map[string]string{
		"Qwen2.5-0.5B-Instruct-Q4_K_M.gguf": "qwen2.5-0.5b-instruct-q4_k_m",
		"model.safetensors":                 "model",
		"My Model (final)":                  "my-model-final",
		"...":                               "model",
		"a..b":                              "a.b",
		"--x--":                             "x",
	}
	for in, want := range tests {
		if got := DefaultName(in); got != want {
			t.Errorf("DefaultName(%q) = %q, want %q", in, got, want)
		}
		if _, err := ParseName(DefaultName(in)); err != nil {
			t.Errorf("DefaultName(%q) is not a valid name: %v", in, err)
		}
	}
}
