package keys

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzServerSecretFile feeds arbitrary gateway.secret contents to the
// parser: it never panics and accepts only 64 hex digits (around spaces).
func FuzzServerSecretFile(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseServerSecret("gateway.secret", bytes.TrimSpace(b))
		if err != nil {
			return
		}
		raw, derr := hex.DecodeString(string(bytes.TrimSpace(b)))
		if derr != nil || len(raw) != ServerSecretLen || h == nil {
			t.Fatalf("accepted %q", b)
		}
	})
}
