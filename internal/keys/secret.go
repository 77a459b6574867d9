package keys

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"sync"
)

// Secret and ID format; see the package documentation.
const (
	inferencePrefix = "sov-"
	adminPrefix     = "sovadm-"
	secretBytes     = 32
	secretBodyLen   = 43 // base64url, no padding, of secretBytes
	prefixBodyLen   = 8  // secret characters shown in Key.Prefix
	idPrefix        = "key_"
	idChars         = 12
	// ServerSecretLen is the length of the server secret in bytes.
	ServerSecretLen = 32
)

func secretPrefix(admin bool) string {
	if admin {
		return adminPrefix
	}
	return inferencePrefix
}

func prefixLen(admin bool) int { return len(secretPrefix(admin)) + prefixBodyLen }

// newSecret returns a fresh secret of the given kind.
func newSecret(admin bool) string {
	var b [secretBytes]byte
	rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return secretPrefix(admin) + base64.RawURLEncoding.EncodeToString(b[:])
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a fresh key ID.
func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return idPrefix + idEncoding.EncodeToString(b[:])[:idChars]
}

// ParseSecret reports whether s has the form of a secret and of which
// kind. It looks at the form only; whether a key with that secret exists
// is for a Cache to say.
func ParseSecret(s string) (admin, ok bool) {
	var body string
	switch {
	case len(s) == len(inferencePrefix)+secretBodyLen && strings.HasPrefix(s, inferencePrefix):
		body = s[len(inferencePrefix):]
	case len(s) == len(adminPrefix)+secretBodyLen && strings.HasPrefix(s, adminPrefix):
		body, admin = s[len(adminPrefix):], true
	default:
		return false, false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false, false
		}
	}
	// The last character carries 2 padding bits that must be zero, so
	// that every 32-byte value has exactly one spelling.
	if strings.IndexByte("AEIMQUYcgkosw048", body[secretBodyLen-1]) < 0 {
		return false, false
	}
	return admin, true
}

// Hasher computes the stored form of a secret, HMAC-SHA256 under the
// server secret. It is safe for concurrent use and does not allocate.
type Hasher struct {
	pool sync.Pool // of *hmacState
}

type hmacState struct {
	mac hash.Hash
	in  [64]byte // the secret, copied, so that Write does not allocate
	out [sha256.Size]byte
}

// NewHasher returns a Hasher for a server secret of ServerSecretLen bytes.
func NewHasher(serverSecret []byte) (*Hasher, error) {
	if len(serverSecret) != ServerSecretLen {
		return nil, errors.New("server secret must be 32 bytes")
	}
	key := append([]byte(nil), serverSecret...)
	h := &Hasher{}
	h.pool.New = func() any { return &hmacState{mac: hmac.New(sha256.New, key)} }
	return h, nil
}

// Sum returns HMAC-SHA256(server secret, secret).
func (h *Hasher) Sum(secret string) [sha256.Size]byte {
	st := h.pool.Get().(*hmacState)
	st.mac.Reset()
	for len(secret) > 0 {
		n := copy(st.in[:], secret)
		st.mac.Write(st.in[:n])
		secret = secret[n:]
	}
	sum := [sha256.Size]byte(st.mac.Sum(st.out[:0]))
	h.pool.Put(st)
	return sum
}

// Hex returns Sum in lower-case hex, the form Key.Hash and the Store use.
func (h *Hasher) Hex(secret string) string {
	s := h.Sum(secret)
	return hex.EncodeToString(s[:])
}
