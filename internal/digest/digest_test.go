package digest

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	good := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		in string
		ok bool
	}{
		{good, true},
		{"sha256:" + strings.Repeat("AB", 32), false}, // upper case
		{"sha256:" + strings.Repeat("a", 63), false},
		{"sha256:" + strings.Repeat("a", 65), false},
		{"sha512:" + strings.Repeat("a", 64), false},
		{strings.Repeat("a", 64), false},
		{"sha256:../../" + strings.Repeat("a", 58), false},
		{"sha256:" + strings.Repeat("g", 64), false},
		{"", false},
	}
	for _, tt := range tests {
		d, err := Parse(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Parse(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error %v does not wrap ErrInvalid", tt.in, err)
		}
		if tt.ok && d.String() != tt.in {
			t.Errorf("Parse(%q) = %q", tt.in, d)
		}
	}
}

func TestFromBytes(t *testing.T) {
	// The SHA-256 of the empty string.
	const empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	d := FromBytes(nil)
	if d != empty {
		t.Errorf("FromBytes(nil) = %s, want %s", d, empty)
	}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
	if d.Hex() != empty[7:] || d.Short() != empty[7:19] {
		t.Errorf("Hex %q Short %q", d.Hex(), d.Short())
	}
	h := NewHash()
	h.Write([]byte("abc"))
	if FromHash(h) != FromBytes([]byte("abc")) {
		t.Error("FromHash and FromBytes disagree")
	}
}
