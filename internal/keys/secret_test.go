package keys

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestNewSecretForm(t *testing.T) {
	for _, admin := range []bool{false, true} {
		seen := map[string]bool{}
		for range 200 {
			s := newSecret(admin)
			if seen[s] {
				t.Fatalf("secret repeated: %s", s)
			}
			seen[s] = true
			gotAdmin, ok := ParseSecret(s)
			if !ok || gotAdmin != admin {
				t.Fatalf("ParseSecret(%q) = %v, %v; want %v, true", s, gotAdmin, ok, admin)
			}
			body := strings.TrimPrefix(s, secretPrefix(admin))
			b, err := base64.RawURLEncoding.Strict().DecodeString(body)
			if err != nil || len(b) != secretBytes {
				t.Fatalf("secret body %q decodes to %d bytes, %v", body, len(b), err)
			}
		}
	}
	if got := len(newSecret(false)); got != 47 {
		t.Errorf("inference secret length %d, want 47", got)
	}
	if got := len(newSecret(true)); got != 50 {
		t.Errorf("admin secret length %d, want 50", got)
	}
}

func TestParseSecret(t *testing.T) {
	body := strings.Repeat("A", 42) + "E"
	tests := []struct {
		in        string
		admin, ok bool
	}{
		{"sov-" + body, false, true},
		{"sovadm-" + body, true, true},
		{"sov-" + strings.Repeat("_-09azAZ", 5) + "abE", false, true},
		{"", false, false},
		{"sov-", false, false},
		{"sov-" + body[1:], false, false},        // short
		{"sov-" + body + "A", false, false},      // long
		{"SOV-" + body, false, false},            // prefix case
		{"sk-" + body + "x", false, false},       // someone else's key
		{"sovadm" + body + "AA", false, false},   // no dash
		{"sov-" + body[:42] + "B", false, false}, // padding bits set: not canonical
		{"sov-" + body[:41] + "+E", false, false},
		{"sov-" + body[:41] + "=E", false, false},
		{"sov-" + body[:41] + "\xffE", false, false},
		{"sovadm-sov-" + body[:39] + "E", false, false},
	}
	for _, tt := range tests {
		admin, ok := ParseSecret(tt.in)
		if admin != tt.admin || ok != tt.ok {
			t.Errorf("ParseSecret(%q) = %v, %v; want %v, %v", tt.in, admin, ok, tt.admin, tt.ok)
		}
		// ParseSecret's canonical form check agrees with strict base64.
		if ok {
			body := tt.in[strings.IndexByte(tt.in, '-')+1:]
			if _, err := base64.RawURLEncoding.Strict().DecodeString(body); err != nil {
				t.Errorf("ParseSecret accepted %q, which strict base64 refuses: %v", tt.in, err)
			}
		}
	}
}

func TestHasher(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	h, err := NewHasher(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "sov-x", newSecret(false), strings.Repeat("long", 100)} {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(s))
		want := hex.EncodeToString(mac.Sum(nil))
		if got := h.Hex(s); got != want {
			t.Errorf("Hex(%.10q) = %s, want %s", s, got, want)
		}
		if got := h.Hex(s); got != want { // pooled state reused
			t.Errorf("second Hex(%.10q) = %s, want %s", s, got, want)
		}
	}
	other, _ := NewHasher([]byte("another server secret 32 bytes!!"))
	if h.Hex("sov-x") == other.Hex("sov-x") {
		t.Errorf("two server secrets give the same hash")
	}
	if _, err := NewHasher(key[:31]); err == nil {
		t.Errorf("NewHasher accepted a 31-byte secret")
	}
	if n := testing.AllocsPerRun(100, func() { h.Sum("sov-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG") }); n != 0 && !RaceEnabled {
		t.Errorf("Sum allocates %v times", n)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		id := newID()
		if !IsID(id) || seen[id] {
			t.Fatalf("newID() = %q: invalid or repeated", id)
		}
		seen[id] = true
	}
}
