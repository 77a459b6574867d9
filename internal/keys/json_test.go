package keys_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/keys"
)

// TestKeyJSONRoundTrip checks that what the admin API writes reads back
// as the same key, without its hash.
func TestKeyJSONRoundTrip(t *testing.T) {
	revoked := time.Date(2026, 11, 2, 3, 4, 5, 6, time.UTC)
	for _, k := range []keys.Key{
		{ID: "key_abcdefghijkl", Name: "ci", Tenant: "acme", Prefix: "sov-abcdefgh", Models: []string{"m:latest"},
			RPM: 60, TPM: 1000, MaxConcurrency: 2, TokenBudget: 5000, BudgetWindow: 30 * 24 * time.Hour,
			Jurisdictions: []string{"eu", "ch"}, Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Hash: "ab"},
		{ID: "key_mnopqrstuvwx", Name: "ops", Tenant: "default", Admin: true, Models: []string{}, Jurisdictions: []string{},
			Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Revoked: &revoked},
	} {
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), `"hash"`) {
			t.Errorf("JSON holds the hash: %s", b)
		}
		var got keys.Key
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		want := k
		want.Hash = ""
		if want.Models == nil {
			want.Models = []string{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
	var k keys.Key
	if err := json.Unmarshal([]byte(`{"id":"key_x","budget_window":"soon"}`), &k); err == nil {
		t.Error("a bad budget window was accepted")
	}
}
