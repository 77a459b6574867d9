package gateway_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/upstream/upstreamtest"
)

// adminKey is a key as the admin API shows it.
type adminKey struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Tenant        string   `json:"tenant"`
	Kind          string   `json:"kind"`
	Prefix        string   `json:"prefix"`
	Models        []string `json:"models"`
	RPM           int      `json:"rpm"`
	TokenBudget   int64    `json:"token_budget"`
	BudgetWindow  string   `json:"budget_window"`
	Jurisdictions []string `json:"jurisdictions"`
	Revoked       *string  `json:"revoked"`
	Key           string   `json:"key"`
}

func TestAdminAPI(t *testing.T) {
	up := newUpstream(t, upstreamtest.Options{Models: []string{"m"}, Reply: "ok"})
	h := newHarness(t, setup{backends: backends(served(t, "up", "", up, "m"))})

	// Create: the secret is in the answer, this once, and works at once.
	resp, body := h.do("POST", "/admin/v1/keys", h.admin,
		`{"name":"ci-bot","tenant":"acme","models":["m"],"rpm":60,"token_budget":1000,"budget_window":"1d","jurisdictions":["eu"]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: status %d: %s", resp.StatusCode, body)
	}
	var created adminKey
	mustJSON(t, string(body), &created)
	want := adminKey{Name: "ci-bot", Tenant: "acme", Kind: "inference", Models: []string{"m"}, RPM: 60,
		TokenBudget: 1000, BudgetWindow: "1d", Jurisdictions: []string{"eu"}}
	got := created
	got.ID, got.Prefix, got.Key = "", "", ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created key (-want +got):\n%s", diff)
	}
	secret := created.Key
	if !strings.HasPrefix(secret, "sov-") || !strings.HasPrefix(secret, created.Prefix) || !strings.HasPrefix(created.ID, "key_") {
		t.Errorf("secret %q, prefix %q, id %q", secret, created.Prefix, created.ID)
	}
	if strings.Contains(string(body), "hash") || strings.Contains(string(body), h.hasher.Hex(secret)) {
		t.Errorf("the answer shows the hash: %s", body)
	}
	// Its restrictions hold at once: a key restricted to eu is never sent
	// to an unlabelled backend.
	resp, b := h.chat(secret, chatBody("m", "hi", ""))
	wantError(t, resp, b, 403, "permission_error", "residency_violation")
	resp, body = h.do("POST", "/admin/v1/keys", h.admin, `{"name":"plain"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create: status %d: %s", resp.StatusCode, body)
	}
	var plain adminKey
	mustJSON(t, string(body), &plain)
	if resp, b := h.chat(plain.Key, chatBody("m", "hi", "")); resp.StatusCode != 200 {
		t.Errorf("the new key does not work at once: status %d: %s", resp.StatusCode, b)
	}

	// Bad requests name the field.
	bad := []struct {
		name, body, param string
	}{
		{"bad name", `{"name":"Not A Label"}`, "name"},
		{"negative rpm", `{"name":"x","rpm":-1}`, "rpm"},
		{"bad window", `{"name":"x","token_budget":5,"budget_window":"fortnight"}`, "budget_window"},
		{"unknown field", `{"name":"x","colour":"red"}`, "<null>"},
		{"not json", `{"name":`, "<null>"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.do("POST", "/admin/v1/keys", h.admin, tt.body)
			param, _ := wantError(t, resp, body, 400, "invalid_request_error", "")
			if param != tt.param {
				t.Errorf("param = %s, want %s", param, tt.param)
			}
		})
	}
	resp, body = h.do("POST", "/admin/v1/keys", h.admin, `{"name":"plain"}`)
	if param, _ := wantError(t, resp, body, 409, "invalid_request_error", "key_name_in_use"); param != "name" {
		t.Errorf("a second key named plain: param %s", param)
	}

	// List: every key, without secrets or hashes.
	resp, body = h.do("GET", "/admin/v1/keys", h.admin, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("list: status %d: %s", resp.StatusCode, body)
	}
	var list struct {
		Object string     `json:"object"`
		Data   []adminKey `json:"data"`
	}
	mustJSON(t, string(body), &list)
	var names []string
	for _, k := range list.Data {
		names = append(names, k.Name)
		if k.Key != "" {
			t.Errorf("key %s: the list shows a secret", k.Name)
		}
	}
	if diff := cmp.Diff([]string{"admin", "ci-bot", "plain"}, names); diff != "" || list.Object != "list" {
		t.Errorf("list %q (-want +got):\n%s", list.Object, diff)
	}
	for _, s := range []string{secret, plain.Key, h.admin} {
		if strings.Contains(string(body), s) || strings.Contains(string(body), s[len(s)-20:]) || strings.Contains(string(body), h.hasher.Hex(s)) {
			t.Errorf("the list shows a secret or its hash: %s", body)
		}
	}
	var raw struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	mustJSON(t, string(body), &raw)
	for _, k := range raw.Data {
		if _, ok := k["hash"]; ok {
			t.Errorf("a listed key has a hash field")
		}
	}

	// Revoke: by name or ID, effective at once.
	resp, body = h.do("DELETE", "/admin/v1/keys/"+plain.ID, h.admin, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: status %d: %s", resp.StatusCode, body)
	}
	var revoked adminKey
	mustJSON(t, string(body), &revoked)
	if revoked.Revoked == nil || revoked.Name != "plain" || revoked.Key != "" {
		t.Errorf("revoked key %s", body)
	}
	resp, b = h.chat(plain.Key, chatBody("m", "hi", ""))
	wantError(t, resp, b, 401, "invalid_request_error", "invalid_api_key")
	resp, body = h.do("DELETE", "/admin/v1/keys/ci-bot", h.admin, nil)
	if resp.StatusCode != 200 {
		t.Errorf("revoke by name: status %d: %s", resp.StatusCode, body)
	}
	resp, body = h.do("DELETE", "/admin/v1/keys/no-such-key", h.admin, nil)
	if param, _ := wantError(t, resp, body, 404, "invalid_request_error", "key_not_found"); param != "key" {
		t.Errorf("param = %s", param)
	}
	resp, body = h.do("DELETE", "/admin/v1/keys/ci-bot", h.admin, nil)
	wantError(t, resp, body, 409, "invalid_request_error", "key_revoked")

	// Admin actions are audited, with the admin key as the actor and no
	// secret in the record.
	var kinds []string
	adminID := ""
	for _, k := range list.Data {
		if k.Name == "admin" {
			adminID = k.ID
		}
	}
	for _, e := range h.audit.all() {
		if e.kind == "inference" {
			continue
		}
		kinds = append(kinds, e.kind)
		if e.actor != adminID {
			t.Errorf("%s by %q, want %q", e.kind, e.actor, adminID)
		}
		js, _ := json.Marshal(e.data)
		if strings.Contains(string(js), secret) || strings.Contains(string(js), plain.Key) {
			t.Errorf("the audit record of %s holds a secret", e.kind)
		}
	}
	if diff := cmp.Diff([]string{"key.create", "key.create", "key.revoke", "key.revoke"}, kinds); diff != "" {
		t.Errorf("audited admin actions (-want +got):\n%s", diff)
	}
}

// TestAdminAPIOff: without a KeyAdmin there is no admin API.
func TestAdminAPIOff(t *testing.T) {
	h := newHarness(t, setup{noAdmin: true})
	resp, body := h.do("GET", "/admin/v1/keys", h.admin, nil)
	wantError(t, resp, body, 404, "invalid_request_error", "unknown_url")
}
