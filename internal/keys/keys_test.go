package keys_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/keys"
)

func TestValidateLabel(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"a", true},
		{"ci-bot", true},
		{"team-42", true},
		{"0", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{"-a", false},
		{"a-", false},
		{"Ci", false},
		{"ci_bot", false},
		{"ci.bot", false},
		{"ci bot", false},
		{"é", false},
	}
	for _, tt := range tests {
		if err := keys.ValidateLabel(tt.in); (err == nil) != tt.ok {
			t.Errorf("ValidateLabel(%q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration // 0: error
		back string        // FormatWindow of the result
	}{
		{"1h", time.Hour, "1h"},
		{"1d", 24 * time.Hour, "1d"},
		{"30d", 30 * 24 * time.Hour, "30d"},
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"24h", 24 * time.Hour, "1d"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"1m", time.Minute, "1m"},
		{"1h30m15s", time.Hour + 30*time.Minute + 15*time.Second, "1h30m15s"},
		{"3660d", 3660 * 24 * time.Hour, "3660d"},
		{"59s", 0, ""},
		{"0d", 0, ""},
		{"-1d", 0, ""},
		{"3661d", 0, ""},
		{"99999999999999999999d", 0, ""},
		{"1.5d", 0, ""},
		{"d", 0, ""},
		{"", 0, ""},
		{"1w", 0, ""},
		{"0", 0, ""},
	}
	for _, tt := range tests {
		got, err := keys.ParseWindow(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("ParseWindow(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		if back := keys.FormatWindow(got); back != tt.back {
			t.Errorf("FormatWindow(%v) = %q, want %q", got, back, tt.back)
		}
	}
}

func TestAllows(t *testing.T) {
	open := &keys.Key{}
	eu := &keys.Key{Models: []string{"m1"}, Jurisdictions: []string{"ch", "eu"}}
	tests := []struct {
		k            *keys.Key
		model, where string
		modelOK      bool
		whereOK      bool
	}{
		{open, "anything", "", true, true},
		{open, "m1", "us", true, true},
		{eu, "m1", "eu", true, true},
		{eu, "m2", "ch", false, true},
		{eu, "m1:latest", "eu", true, true}, // NAME means NAME:latest
		{eu, "m1:v2", "eu", false, true},
		{eu, "m1", "us", true, false},
		{eu, "m1", "", true, false}, // an unlabelled backend is outside any set
	}
	for _, tt := range tests {
		if got := tt.k.AllowsModel(tt.model); got != tt.modelOK {
			t.Errorf("%v.AllowsModel(%q) = %v", tt.k.Models, tt.model, got)
		}
		if got := tt.k.AllowsJurisdiction(tt.where); got != tt.whereOK {
			t.Errorf("%v.AllowsJurisdiction(%q) = %v", tt.k.Jurisdictions, tt.where, got)
		}
	}
}

func TestKeyJSON(t *testing.T) {
	revoked := time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		k    keys.Key
		want map[string]any
	}{
		{"plain", keys.Key{
			ID: "key_abcdefghijkl", Name: "ci", Tenant: "default", Prefix: "sov-abcdefgh",
			Hash: strings.Repeat("0", 64), Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		}, map[string]any{
			"id": "key_abcdefghijkl", "name": "ci", "tenant": "default", "kind": "inference",
			"prefix": "sov-abcdefgh", "models": []any{}, "rpm": 0.0, "tpm": 0.0,
			"max_concurrency": 0.0, "token_budget": 0.0, "budget_window": "",
			"jurisdictions": []any{}, "created": "2025-01-01T00:00:00Z", "revoked": nil,
		}},
		{"limited admin", keys.Key{
			ID: "key_abcdefghijkl", Name: "ops", Tenant: "t", Prefix: "sovadm-abcdefgh", Admin: true,
			Models: []string{"m"}, RPM: 1, TPM: 2, MaxConcurrency: 3, TokenBudget: 4,
			BudgetWindow: 30 * 24 * time.Hour, Jurisdictions: []string{"eu"},
			Hash: strings.Repeat("0", 64), Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Revoked: &revoked,
		}, map[string]any{
			"id": "key_abcdefghijkl", "name": "ops", "tenant": "t", "kind": "admin",
			"prefix": "sovadm-abcdefgh", "models": []any{"m"}, "rpm": 1.0, "tpm": 2.0,
			"max_concurrency": 3.0, "token_budget": 4.0, "budget_window": "30d",
			"jurisdictions": []any{"eu"}, "created": "2025-01-01T00:00:00Z", "revoked": "2025-02-01T00:00:00Z",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.k)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), tt.k.Hash) {
				t.Errorf("JSON holds the hash: %s", b)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("JSON (-want +got):\n%s", diff)
			}
		})
	}
}
