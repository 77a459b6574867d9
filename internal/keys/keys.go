// Package keys holds the gateway's API keys: who may call `sov serve`, for
// which models, under which limits, and whether a caller is an
// administrator. It declares the key record, the Store interface the key
// database implements (keys/sqlite, keys/memory; keys/keystest is their
// conformance suite), the in-memory authenticator (Cache) that checks a
// secret without touching the database, and the Manager that the CLI and
// the admin API use to create, list and revoke keys.
//
// # Key format
//
// A secret is a prefix and 43 characters of unpadded base64url encoding 32
// random bytes (256 bits; only the canonical encoding is accepted):
//
//	sov-<43 chars>      inference key (47 characters)
//	sovadm-<43 chars>   admin key     (50 characters)
//
// The prefixes differ so that an admin secret is never taken for an
// inference secret or the other way round: the Cache refuses a secret whose
// prefix does not match the key's Admin flag. Each key also has an ID
// ("key_" and 12 lower-case base32 characters, 60 random bits) shown in
// lists and audit records, a Name (a DNS-style label, unique among the keys
// that are not revoked), and a Prefix: the secret's first 12 (inference) or
// 15 (admin) characters, i.e. the kind prefix and 8 secret characters
// (48 bits), so that an owner can tell which key a leaked secret is.
//
// # Storage
//
// A secret is shown once, when it is created, and never stored. The
// database holds only HMAC-SHA256(server secret, secret) in hex. The server
// secret (the "pepper") is 32 random bytes, hex-encoded in
// SOV_HOME/gateway.secret, created with mode 0600 on first use by writing a
// temporary file and hard-linking it into place, so that two processes
// starting at once agree on one secret. Losing or replacing the file makes
// every stored key useless. A secret file (gateway.secret, admin.key) with
// any permission bit for the group or others is refused, the way ssh
// refuses a private key: a *PermissionError says which file and how to fix
// it. (On Windows, where Go reports no such bits, the check is skipped.)
//
// On the first start of a server with no keys at all, EnsureAdmin creates
// an admin key named "admin" and writes its secret to SOV_HOME/admin.key
// (0600, temporary file and rename, so the file is never half written and
// appears only if the key was stored). The CLI reads it with ReadAdminKey.
//
// Tenants are labels on keys; the tenants themselves (their settings) live
// in the serve config file, not in the key database.
//
// This package must not put the database on the path of authentication:
// Cache.Authenticate works from memory only. It must never log, store or
// return a secret after Create has handed it out.
package keys

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Errors callers branch on. Store implementations wrap them.
var (
	// ErrNotFound: no key with that ID, name or hash.
	ErrNotFound = errors.New("key not found")
	// ErrNameInUse: a key that is not revoked already has that name.
	ErrNameInUse = errors.New("key name already in use")
	// ErrExists: a key with that ID or secret hash is already stored.
	ErrExists = errors.New("key already exists")
	// ErrRevoked: the key is already revoked.
	ErrRevoked = errors.New("key already revoked")
	// ErrInvalidKey is what Authenticate returns for any secret it does not
	// accept: malformed, unknown, revoked, or of the wrong kind. It does not
	// say which, so a client learns nothing from it.
	ErrInvalidKey = errors.New("invalid API key")
)

// DefaultTenant is the tenant of a key created without one.
const DefaultTenant = "default"

// Key is one API key. The secret itself is not part of it.
//
// A *Key handed out by a Cache is shared and must not be modified.
type Key struct {
	ID     string // "key_" + 12 base32 characters
	Name   string // DNS-style label, unique among keys that are not revoked
	Tenant string // DNS-style label; DefaultTenant when not given

	// Models the key may use; empty means all.
	Models []string

	// Rate limits; 0 means unlimited.
	RPM            int // requests per minute
	TPM            int // tokens (prompt + completion) per minute
	MaxConcurrency int // requests in flight at once

	// TokenBudget is the number of tokens the key may use per BudgetWindow
	// (windows are aligned to the Unix epoch, see package limits). Both are
	// zero when the key has no budget.
	TokenBudget  int64
	BudgetWindow time.Duration

	// Jurisdictions the key's requests may be served in; empty means any.
	Jurisdictions []string

	// Admin keys call the admin API only; inference keys call /v1 only.
	Admin bool

	Created time.Time  // UTC
	Revoked *time.Time // UTC; nil while the key is valid
	Prefix  string     // the secret's first characters, for lists

	// Hash is HMAC-SHA256(server secret, secret) in lower-case hex. It is
	// not secret enough to show: it is never part of JSON output.
	Hash string
}

// AllowsModel reports whether the key may use the model. NAME and
// NAME:latest are the same model, as everywhere in sov.
func (k *Key) AllowsModel(model string) bool {
	if len(k.Models) == 0 {
		return true
	}
	m := withLatest(model)
	for _, l := range k.Models {
		if withLatest(l) == m {
			return true
		}
	}
	return false
}

// withLatest spells a model name without a tag as NAME:latest.
func withLatest(s string) string {
	if !strings.Contains(s, ":") {
		return s + ":latest"
	}
	return s
}

// AllowsJurisdiction reports whether the key's requests may be served in
// jurisdiction j. A key without jurisdictions allows any, including an
// unlabelled backend (""); a restricted key never allows an unlabelled one.
func (k *Key) AllowsJurisdiction(j string) bool {
	if len(k.Jurisdictions) == 0 {
		return true
	}
	return j != "" && slices.Contains(k.Jurisdictions, j)
}

// Kind is "admin" or "inference".
func (k *Key) Kind() string {
	if k.Admin {
		return "admin"
	}
	return "inference"
}

// keyJSON is the JSON shape of a Key, shared by `sov keys list --json` and
// the admin API. The hash is left out.
type keyJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Tenant         string     `json:"tenant"`
	Kind           string     `json:"kind"`
	Prefix         string     `json:"prefix"`
	Models         []string   `json:"models"`
	RPM            int        `json:"rpm"`
	TPM            int        `json:"tpm"`
	MaxConcurrency int        `json:"max_concurrency"`
	TokenBudget    int64      `json:"token_budget"`
	BudgetWindow   string     `json:"budget_window"`
	Jurisdictions  []string   `json:"jurisdictions"`
	Created        time.Time  `json:"created"`
	Revoked        *time.Time `json:"revoked"`
}

// MarshalJSON writes the key without its hash; lists are never null and
// the budget window is written as by FormatWindow ("" when none).
func (k Key) MarshalJSON() ([]byte, error) {
	j := keyJSON{
		ID: k.ID, Name: k.Name, Tenant: k.Tenant, Kind: k.Kind(), Prefix: k.Prefix,
		Models: k.Models, RPM: k.RPM, TPM: k.TPM, MaxConcurrency: k.MaxConcurrency,
		TokenBudget: k.TokenBudget, Jurisdictions: k.Jurisdictions,
		Created: k.Created, Revoked: k.Revoked,
	}
	if j.Models == nil {
		j.Models = []string{}
	}
	if j.Jurisdictions == nil {
		j.Jurisdictions = []string{}
	}
	if k.BudgetWindow > 0 {
		j.BudgetWindow = FormatWindow(k.BudgetWindow)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes (the admin API's key
// objects); the hash is never part of it.
func (k *Key) UnmarshalJSON(b []byte) error {
	var j keyJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*k = Key{
		ID: j.ID, Name: j.Name, Tenant: j.Tenant, Prefix: j.Prefix, Models: j.Models, RPM: j.RPM, TPM: j.TPM,
		MaxConcurrency: j.MaxConcurrency, TokenBudget: j.TokenBudget, Jurisdictions: j.Jurisdictions,
		Admin: j.Kind == "admin", Created: j.Created, Revoked: j.Revoked,
	}
	if j.BudgetWindow != "" {
		w, err := ParseWindow(j.BudgetWindow)
		if err != nil {
			return fmt.Errorf("key %s: budget_window: %w", j.ID, err)
		}
		k.BudgetWindow = w
	}
	return nil
}

// Limits used by validation.
const (
	maxLabel     = 63
	maxModelName = 256
	maxListLen   = 1024    // models or jurisdictions per key
	maxRate      = 1 << 30 // rpm, tpm, concurrency
	minWindow    = time.Minute
	maxWindow    = 10 * 366 * 24 * time.Hour
)

// ValidateLabel checks a key name, tenant or jurisdiction: 1 to 63
// characters of a-z, 0-9 and '-', not starting or ending with '-'.
func ValidateLabel(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > maxLabel {
		return fmt.Errorf("%q is longer than %d characters", s, maxLabel)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i != 0 && i != len(s)-1 {
			continue
		}
		return fmt.Errorf("%q: use lower-case letters, digits and '-' (not at either end)", s)
	}
	return nil
}

// validateModelName accepts any printable name without spaces: model names
// come from the vault ("llama3:8b") and from upstreams ("org/model").
func validateModelName(s string) error {
	if s == "" {
		return errors.New("empty model name")
	}
	if len(s) > maxModelName {
		return fmt.Errorf("model name %.20q… is longer than %d bytes", s, maxModelName)
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '\uFFFD' || r == ',' {
			return fmt.Errorf("model name %q: no spaces, commas or control characters", s)
		}
	}
	return nil
}

// ParseWindow parses a budget window: "1h", "1d", "30d", any number of
// days as "Nd", or a Go duration ("90m"). The result is at least a minute
// and at most ten years.
func ParseWindow(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n <= 0 || n > int64(maxWindow/(24*time.Hour)) {
			return 0, fmt.Errorf("budget window %q: want e.g. 1h, 1d or 30d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("budget window %q: want e.g. 1h, 1d or 30d", s)
		}
	}
	if err := checkWindow(d); err != nil {
		return 0, err
	}
	return d, nil
}

func checkWindow(d time.Duration) error {
	if d < minWindow || d > maxWindow {
		return fmt.Errorf("budget window %s: must be between 1m and 3660d", FormatWindow(d))
	}
	return nil
}

// FormatWindow writes a window the way ParseWindow reads it: whole days as
// "Nd", anything else as a Go duration without zero units ("1h", "90m").
func FormatWindow(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// cleanList validates, sorts and de-duplicates a list of models or
// jurisdictions.
func cleanList(what string, in []string, check func(string) error) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > maxListLen {
		return nil, fmt.Errorf("%s: more than %d entries", what, maxListLen)
	}
	for _, s := range in {
		if err := check(s); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Validate checks a complete key record, as a Store does before storing
// it: well-formed ID, name, tenant, prefix and hash, limits in range,
// sorted unique lists, a creation time.
func (k *Key) Validate() error {
	if err := validateID(k.ID); err != nil {
		return err
	}
	if err := ValidateLabel(k.Name); err != nil {
		return fmt.Errorf("key %s: name: %w", k.ID, err)
	}
	if err := ValidateLabel(k.Tenant); err != nil {
		return fmt.Errorf("key %s: tenant: %w", k.ID, err)
	}
	if err := k.validateLimits(); err != nil {
		return fmt.Errorf("key %s: %w", k.ID, err)
	}
	for _, l := range []struct {
		what  string
		list  []string
		check func(string) error
	}{{"models", k.Models, validateModelName}, {"jurisdictions", k.Jurisdictions, ValidateLabel}} {
		clean, err := cleanList(l.what, l.list, l.check)
		if err != nil {
			return fmt.Errorf("key %s: %w", k.ID, err)
		}
		if len(clean) != len(l.list) || !slices.IsSorted(l.list) {
			return fmt.Errorf("key %s: %s must be sorted and unique", k.ID, l.what)
		}
	}
	if !validHash(k.Hash) {
		return fmt.Errorf("key %s: hash must be 64 lower-case hex digits", k.ID)
	}
	if want := prefixLen(k.Admin); len(k.Prefix) != want || !strings.HasPrefix(k.Prefix, secretPrefix(k.Admin)) {
		return fmt.Errorf("key %s: prefix %q is not the first %d characters of a %s secret", k.ID, k.Prefix, want, k.Kind())
	}
	if k.Created.IsZero() {
		return fmt.Errorf("key %s: created time not set", k.ID)
	}
	return nil
}

func (k *Key) validateLimits() error {
	for _, l := range []struct {
		name string
		v    int
	}{{"rpm", k.RPM}, {"tpm", k.TPM}, {"max concurrency", k.MaxConcurrency}} {
		if l.v < 0 || l.v > maxRate {
			return fmt.Errorf("%s %d: must be between 0 (unlimited) and %d", l.name, l.v, maxRate)
		}
	}
	switch {
	case k.TokenBudget < 0:
		return fmt.Errorf("token budget %d: must not be negative", k.TokenBudget)
	case k.TokenBudget > 0 && k.BudgetWindow == 0:
		return errors.New("a token budget needs a budget window (1h, 1d, 30d, …)")
	case k.TokenBudget == 0 && k.BudgetWindow != 0:
		return errors.New("a budget window needs a token budget")
	case k.BudgetWindow != 0:
		return checkWindow(k.BudgetWindow)
	}
	return nil
}

// validHash reports whether s is 64 lower-case hex digits.
func validHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// IsID reports whether s has the form of a key ID. Names can never look
// like IDs (they have no '_'), so Get can take either.
func IsID(s string) bool { return validateID(s) == nil }

func validateID(s string) error {
	rest, ok := strings.CutPrefix(s, idPrefix)
	if !ok || len(rest) != idChars {
		return fmt.Errorf("key ID %q: want %q and %d characters", s, idPrefix, idChars)
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return fmt.Errorf("key ID %q: want %q and %d characters", s, idPrefix, idChars)
		}
	}
	return nil
}
