package modelcard

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks that Parse never panics, reports failures as *Error,
// agrees with HasFrontMatter, and yields a Raw that encodes as JSON.
func FuzzParse(f *testing.F) {
	for _, s := range []string{llamaFinetune, qwenQuant, mistralAdapter, mergeCard} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		card, err := Parse(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if HasFrontMatter(b) && e.Reason == "" {
				t.Fatalf("error without a reason")
			}
			return
		}
		if card == nil {
			t.Fatal("nil card without error")
		}
		if !HasFrontMatter(b) {
			if diff := cmp.Diff(Card{}, *card); diff != "" {
				t.Fatalf("no front matter but card is not empty:\n%s", diff)
			}
			return
		}
		if card.Raw == nil {
			t.Fatal("front matter but nil Raw")
		}
		if _, err := json.Marshal(card.Raw); err != nil {
			t.Fatalf("Raw does not encode as JSON: %v", err)
		}
	})
}
