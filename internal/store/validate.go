package store

import (
	"errors"
	"fmt"

	"sov.dev/sov/internal/digest"
)

// CheckModel validates a model before an implementation stores it: a valid
// digest that the manifest bytes hash to, and valid blob digests.
func CheckModel(m Model) error {
	if err := m.Digest.Validate(); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if len(m.Manifest) == 0 {
		return fmt.Errorf("model %s: empty manifest", m.Digest)
	}
	if got := digest.FromBytes(m.Manifest); got != m.Digest {
		return fmt.Errorf("model %s: manifest hashes to %s", m.Digest, got)
	}
	for _, d := range m.Blobs {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("model %s: blob: %w", m.Digest, err)
		}
	}
	return nil
}

// CheckRefName refuses an empty name or tag. The syntax of names belongs to
// the reference parser, not the store.
func CheckRefName(name, tag string) error {
	if name == "" || tag == "" {
		return fmt.Errorf("reference %q:%q: name and tag must not be empty", name, tag)
	}
	return nil
}

// CheckPending validates a pending record's id and blobs.
func CheckPending(id string, blobs []digest.Digest) error {
	if id == "" {
		return errors.New("pending record: empty id")
	}
	for _, d := range blobs {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("pending record %q: blob: %w", id, err)
		}
	}
	return nil
}
