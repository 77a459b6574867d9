package hub

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// partSuffix names a file that is still downloading.
const partSuffix = ".part"

// Limits on repository paths; the Hub's own are lower.
const (
	maxPathLen    = 4096
	maxSegmentLen = 255
)

// ValidatePath reports whether p, a path from a repository listing, is safe
// to create below a download directory: relative, '/'-separated, valid
// UTF-8, no empty, "." or ".." segments, no backslash, NUL or other control
// character, no segment longer than 255 bytes.
func ValidatePath(p string) error {
	if p == "" {
		return fmt.Errorf("%w: empty path", ErrUnsafePath)
	}
	if len(p) > maxPathLen {
		return fmt.Errorf("%w: path of %d bytes is longer than %d", ErrUnsafePath, len(p), maxPathLen)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrUnsafePath, p)
	}
	if strings.HasPrefix(p, "/") {
		return fmt.Errorf("%w: %q is absolute", ErrUnsafePath, p)
	}
	for _, r := range p {
		if r == '\\' || unicode.IsControl(r) {
			return fmt.Errorf("%w: %q contains a backslash or control character", ErrUnsafePath, p)
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("%w: %q has an empty segment", ErrUnsafePath, p)
		case seg == "." || seg == "..":
			return fmt.Errorf("%w: %q has a %q segment", ErrUnsafePath, p, seg)
		case len(seg) > maxSegmentLen:
			return fmt.Errorf("%w: %q has a segment longer than %d bytes", ErrUnsafePath, p, maxSegmentLen)
		}
	}
	return nil
}

// checkFiles validates a set of files before anything touches the disk:
// every path is safe, no path is listed twice, no file is also a directory
// of another, no file is another's ".part", and every file has a digest.
func checkFiles(files []RepoFile) error {
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if err := ValidatePath(f.Path); err != nil {
			return err
		}
		if seen[f.Path] {
			return fmt.Errorf("%w: %q listed twice", ErrUnsafePath, f.Path)
		}
		seen[f.Path] = true
		if err := checkDigests(f); err != nil {
			return err
		}
	}
	dirs := make(map[string]bool)
	for _, f := range files {
		for i := 0; i < len(f.Path); i++ {
			if f.Path[i] == '/' {
				dirs[f.Path[:i]] = true
			}
		}
	}
	for _, f := range files {
		if dirs[f.Path] {
			return fmt.Errorf("%w: %q is listed both as a file and as a directory", ErrUnsafePath, f.Path)
		}
		if part := f.Path + partSuffix; seen[part] || dirs[part] {
			return fmt.Errorf("%w: both %q and %q are listed; the second is where the first downloads to", ErrUnsafePath, f.Path, part)
		}
	}
	return nil
}

// checkDigests validates the size and the digests of one listed file.
func checkDigests(f RepoFile) error {
	if f.Size < 0 {
		return fmt.Errorf("hub: %s: negative size %d", f.Path, f.Size)
	}
	if f.LFS != nil {
		if !isHex(f.LFS.SHA256, 64) {
			return fmt.Errorf("hub: %s: LFS sha256 %q is not 64 lowercase hex digits", f.Path, f.LFS.SHA256)
		}
		if f.LFS.Size != f.Size {
			return fmt.Errorf("hub: %s: LFS size %d differs from file size %d", f.Path, f.LFS.Size, f.Size)
		}
		return nil
	}
	if !isHex(f.GitOID, 40) {
		return fmt.Errorf("hub: %s: git blob id %q is not 40 lowercase hex digits", f.Path, f.GitOID)
	}
	return nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
