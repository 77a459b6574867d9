package license

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// FuzzIdentify checks that Identify never panics on any licence file, card
// or GGUF values, and that its result is consistent: unknown exactly when
// nothing is identified, every named licence is in the knowledge base, the
// agreed IDs are among the candidates, and the result encodes as JSON.
func FuzzIdentify(f *testing.F) {
	f.Add(synth(slices.Concat(byID("MIT").text.keys, byID("MIT").text.support)...), "mit", "", "")
	f.Add(synth(slices.Concat(byID("llama3.1").text.keys, byID("llama3.1").text.support)...), "apache-2.0", "", "")
	f.Add([]byte("GNU GENERAL PUBLIC LICENSE Version 2, June 1991"), "other", "gpl-2.0", "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html")
	f.Add([]byte{}, "other", "mrl", "https://mistral.ai/licenses/MRL-0.1.md")
	f.Add([]byte("\xff\xfe\x00"), "(MIT AND", "LicenseRef-", "://")
	f.Fuzz(func(t *testing.T, text []byte, license, name, link string) {
		r := Identify(Sources{
			Files: []File{{Name: "LICENSE", Content: text}},
			Card:  &Tags{License: strings.Split(license, ","), Name: name, Link: link},
			GGUF:  &Tags{License: []string{name}, Link: license},
		})
		named := false
		for _, fd := range r.Findings {
			if fd.Unknown != (len(fd.IDs) == 0) {
				t.Fatalf("finding %q: Unknown %v with IDs %v", fd.Name, fd.Unknown, fd.IDs)
			}
			if fd.Unknown && fd.Reason == "" && len(fd.UnknownParts) == 0 {
				t.Fatalf("finding %q unknown without reason or raw parts", fd.Name)
			}
			for _, id := range fd.IDs {
				if byID(id) == nil {
					t.Fatalf("finding %q names %q, not in the knowledge base", fd.Name, id)
				}
				if !slices.Contains(r.Candidates, id) {
					t.Fatalf("%q missing from candidates %v", id, r.Candidates)
				}
			}
			named = named || len(fd.IDs) > 0
		}
		if r.Unknown == named {
			t.Fatalf("Unknown = %v but a finding named a licence = %v", r.Unknown, named)
		}
		if len(r.IDs) > 0 && len(r.Disagreements) > 0 {
			t.Fatalf("agreed IDs %v despite disagreements", r.IDs)
		}
		for _, id := range r.IDs {
			if !slices.Contains(r.Candidates, id) {
				t.Fatalf("agreed %q is not a candidate", id)
			}
		}
		if len(r.Licenses) != len(r.Candidates) {
			t.Fatalf("%d licences for %d candidates", len(r.Licenses), len(r.Candidates))
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("result does not encode: %v", err)
		}
		n := normalize(string(text))
		if !strings.HasPrefix(n, " ") || !strings.HasSuffix(n, " ") || strings.Contains(n, "  ") && n != " " {
			t.Fatalf("normalize(%q) = %q: want single spaces, padded", text, n)
		}
		if normalize(n) != n {
			t.Fatalf("normalize is not idempotent on %q", n)
		}
	})
}
