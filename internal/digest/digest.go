// Package digest names content by its SHA-256 hash, in the OCI form
// "sha256:<64 lowercase hex digits>".
//
// It validates digests that come from untrusted places (manifests, the
// network, the command line) so that a digest can never smuggle a path
// element into a file name. It does not read or store content itself.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Algorithm is the only hash algorithm sov writes.
const Algorithm = "sha256"

// Digest is a validated content digest, "sha256:" followed by 64 lowercase
// hex digits. The zero value is the empty, invalid digest.
type Digest string

// ErrInvalid is returned (wrapped) for a malformed digest.
var ErrInvalid = errors.New("invalid digest")

// Parse validates s and returns it as a Digest.
func Parse(s string) (Digest, error) {
	hexpart, ok := strings.CutPrefix(s, Algorithm+":")
	if !ok {
		return "", fmt.Errorf("%w %q: want %s:<64 hex digits>", ErrInvalid, s, Algorithm)
	}
	if len(hexpart) != 2*sha256.Size {
		return "", fmt.Errorf("%w %q: want 64 hex digits, got %d", ErrInvalid, s, len(hexpart))
	}
	for i := 0; i < len(hexpart); i++ {
		c := hexpart[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", fmt.Errorf("%w %q: not lowercase hex", ErrInvalid, s)
		}
	}
	return Digest(s), nil
}

// FromBytes returns the digest of b.
func FromBytes(b []byte) Digest {
	sum := sha256.Sum256(b)
	return FromSum(sum[:])
}

// FromSum returns the digest for a raw 32-byte SHA-256 sum.
func FromSum(sum []byte) Digest {
	return Digest(Algorithm + ":" + hex.EncodeToString(sum))
}

// FromHash returns the digest of everything written to h so far.
func FromHash(h hash.Hash) Digest { return FromSum(h.Sum(nil)) }

// NewHash returns a new hash of the algorithm sov uses.
func NewHash() hash.Hash { return sha256.New() }

// Hex returns the hex part of the digest.
func (d Digest) Hex() string {
	_, h, _ := strings.Cut(string(d), ":")
	return h
}

// Validate reports whether d is well formed.
func (d Digest) Validate() error {
	_, err := Parse(string(d))
	return err
}

// Short returns the first 12 hex digits, for display.
func (d Digest) Short() string {
	h := d.Hex()
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func (d Digest) String() string { return string(d) }
