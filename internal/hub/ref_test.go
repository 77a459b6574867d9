package hub

import (
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr string // substring; "" means success
	}{
		{"hf://org/repo", Ref{"org/repo", "main"}, ""},
		{"org/repo", Ref{"org/repo", "main"}, ""},
		{"hf://org/repo@v1.0", Ref{"org/repo", "v1.0"}, ""},
		{"hf://Org-1/Repo_2.v3@refs/pr/1", Ref{"Org-1/Repo_2.v3", "refs/pr/1"}, ""},
		{"hf://a/b@0123456789abcdef0123456789abcdef01234567", Ref{"a/b", "0123456789abcdef0123456789abcdef01234567"}, ""},
		{"hf://org/repo@", Ref{}, "empty revision"},
		{"hf://org/repo@a b", Ref{}, "whitespace"},
		{"hf://org/repo@a\nb", Ref{}, "whitespace"},
		{"hf://repo", Ref{}, "exactly one '/'"},
		{"hf://a/b/c", Ref{}, "exactly one '/'"},
		{"hf://", Ref{}, "exactly one '/'"},
		{"hf:///repo", Ref{}, "empty name"},
		{"hf://org/", Ref{}, "empty name"},
		{"hf://../repo", Ref{}, `".."`},
		{"hf://org/a..b", Ref{}, `".."`},
		{"hf://org/a--b", Ref{}, `"--"`},
		{"hf://.org/repo", Ref{}, "start or end"},
		{"hf://org/repo.", Ref{}, "start or end"},
		{"hf://org/-repo", Ref{}, "start or end"},
		{"hf://org/repo.git", Ref{}, ".git"},
		{"hf://org/re po", Ref{}, "not allowed"},
		{"hf://org/répo", Ref{}, "not allowed"},
		{"hf://org/" + strings.Repeat("x", 97), Ref{}, "longer than 96"},
		{"HF://org/repo", Ref{}, "exactly one '/'"},
		{"https://huggingface.co/org/repo", Ref{}, "exactly one '/'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseRef(%q): %v", tt.in, err)
				}
				if got != tt.want {
					t.Errorf("ParseRef(%q) = %+v, want %+v", tt.in, got, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRef(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestRefStringRoundTrip(t *testing.T) {
	for _, s := range []string{"hf://org/repo@main", "hf://a/b@refs/pr/7"} {
		r, err := ParseRef(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.String(); got != s {
			t.Errorf("ParseRef(%q).String() = %q", s, got)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"hf://org/repo", "org/repo@v1", "hf://a/b@refs/pr/1", "hf://../x", "hf://a/b@", "@", "hf://a/b@c@d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			return
		}
		if err := ValidateRepoID(r.Repo); err != nil {
			t.Errorf("ParseRef(%q) accepted repo %q: %v", s, r.Repo, err)
		}
		if r.Revision == "" {
			t.Errorf("ParseRef(%q) returned an empty revision", s)
		}
		// A valid repo id is always one safe path segment pair.
		if err := ValidatePath(r.Repo); err != nil {
			t.Errorf("repo %q is not a safe path: %v", r.Repo, err)
		}
		r2, err := ParseRef(r.String())
		if err != nil || r2 != r {
			t.Errorf("round trip of %q: %+v, %v", r.String(), r2, err)
		}
	})
}
