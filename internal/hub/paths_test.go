package hub

import (
	"errors"
	"strings"
	"testing"
)

func TestValidatePath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"config.json", true},
		{"a/b/c.safetensors", true},
		{".gitattributes", true},
		{"..foo", true},
		{"foo..", true},
		{"dir.with.dots/x", true},
		{"unicodé/файл", true},
		{"with space.txt", true},
		{"", false},
		{"/abs", false},
		{"../x", false},
		{"a/../x", false},
		{"a/..", false},
		{"..", false},
		{".", false},
		{"./a", false},
		{"a/./b", false},
		{"a//b", false},
		{"a/", false},
		{`a\b`, false},
		{`..\..\x`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{"bad\xffutf8", false},
		{strings.Repeat("x", 256), false},
		{strings.Repeat("x", 255), true},
		{strings.Repeat("a/", 2100) + "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := ValidatePath(tt.path)
			if tt.ok && err != nil {
				t.Errorf("ValidatePath(%q) = %v, want ok", tt.path, err)
			}
			if !tt.ok && !errors.Is(err, ErrUnsafePath) {
				t.Errorf("ValidatePath(%q) = %v, want ErrUnsafePath", tt.path, err)
			}
		})
	}
}

func TestCheckFiles(t *testing.T) {
	oid := strings.Repeat("a", 40)
	sum := strings.Repeat("b", 64)
	file := func(p string) RepoFile { return RepoFile{Path: p, Size: 1, GitOID: oid} }
	tests := []struct {
		name    string
		files   []RepoFile
		wantErr string
	}{
		{"ok", []RepoFile{file("a"), file("b/c"), file("b/d")}, ""},
		{"empty", nil, ""},
		{"lfs ok", []RepoFile{{Path: "w", Size: 5, GitOID: oid, LFS: &LFSInfo{SHA256: sum, Size: 5}}}, ""},
		{"duplicate", []RepoFile{file("a"), file("a")}, "listed twice"},
		{"file is a directory", []RepoFile{file("a/b"), file("a")}, "file and as a directory"},
		{"part of another", []RepoFile{file("m.bin.part"), file("m.bin")}, "downloads to"},
		{"part dir of another", []RepoFile{file("m.bin.part/x"), file("m.bin")}, "downloads to"},
		{"negative size", []RepoFile{{Path: "a", Size: -1, GitOID: oid}}, "negative size"},
		{"no oid", []RepoFile{{Path: "a", Size: 1}}, "git blob id"},
		{"upper-case oid", []RepoFile{{Path: "a", Size: 1, GitOID: strings.Repeat("A", 40)}}, "git blob id"},
		{"bad sha256", []RepoFile{{Path: "a", Size: 1, LFS: &LFSInfo{SHA256: "xyz", Size: 1}}}, "sha256"},
		{"lfs size differs", []RepoFile{{Path: "a", Size: 1, LFS: &LFSInfo{SHA256: sum, Size: 2}}}, "differs"},
		{"unsafe", []RepoFile{file("../a")}, "unsafe path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkFiles(tt.files)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("checkFiles: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("checkFiles error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzValidatePath(f *testing.F) {
	for _, s := range []string{"a/b.json", "../x", "a//b", `a\b`, "a/./b", ".gitattributes", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidatePath(p) != nil {
			return
		}
		// Whatever passes must be a clean relative path with no way up.
		if strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || strings.ContainsRune(p, 0) {
			t.Fatalf("accepted %q", p)
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("accepted %q with segment %q", p, seg)
			}
		}
	})
}
