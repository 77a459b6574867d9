package hub

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// Sentinel errors that callers branch on. Errors returned by this package
// wrap them; test with errors.Is.
var (
	// ErrRepoNotFound: the repository does not exist, or it is private and
	// the token (if any) does not grant access. The Hub does not tell the
	// two apart.
	ErrRepoNotFound = errors.New("repository not found")
	// ErrRevisionNotFound: the branch, tag or commit does not exist.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrGated: the repository is gated and the caller has no token, or the
	// token's account has not been granted access.
	ErrGated = errors.New("gated repository")
	// ErrEntryNotFound: a file of the listing is missing from the server.
	ErrEntryNotFound = errors.New("file not found in repository")
	// ErrUnauthorized: the token was rejected, or access is forbidden.
	ErrUnauthorized = errors.New("access denied")
	// ErrUnsafePath: a repository path could escape the download directory
	// or is otherwise unusable as a file name.
	ErrUnsafePath = errors.New("unsafe path in repository listing")
	// ErrNoMatch: include patterns matched no file.
	ErrNoMatch = errors.New("no file matches")
	// ErrVerify: downloaded content does not match the listed size or
	// digest. The error is a *VerifyError.
	ErrVerify = errors.New("verification failed")
)

// APIError is an unsuccessful answer from the Hub (or a mirror or CDN).
// Its Error text is meant for users: it says what went wrong and what to do.
type APIError struct {
	Status   int    // HTTP status code
	Code     string // X-Error-Code header, e.g. "RepoNotFound"
	Message  string // X-Error-Message header, sanitized
	URL      string // request URL, without query
	Repo     string
	Revision string
	Path     string // repository file path, for downloads
	Endpoint string // the Hub endpoint, for hints
	HadToken bool   // whether a token was sent
	kind     error  // one of the sentinels, or nil
}

// Unwrap returns the sentinel this error is an instance of, if any.
func (e *APIError) Unwrap() error { return e.kind }

func (e *APIError) Error() string {
	var b strings.Builder
	switch e.kind {
	case ErrRepoNotFound:
		fmt.Fprintf(&b, "repository %s not found on %s", e.Repo, e.Endpoint)
		if e.HadToken {
			b.WriteString(" (or your HF_TOKEN does not grant access to it)")
		} else {
			b.WriteString(" (or it is private and you need to set HF_TOKEN)")
		}
	case ErrRevisionNotFound:
		fmt.Fprintf(&b, "revision %q not found in repository %s", e.Revision, e.Repo)
	case ErrGated:
		fmt.Fprintf(&b, "repository %s is gated: accept its terms at %s/%s", e.Repo, e.Endpoint, e.Repo)
		if e.HadToken {
			b.WriteString(" with the account your HF_TOKEN belongs to")
		} else {
			b.WriteString(" and set HF_TOKEN to a token of that account")
		}
	case ErrEntryNotFound:
		fmt.Fprintf(&b, "file %q not found in repository %s at %s", e.Path, e.Repo, e.Revision)
	case ErrUnauthorized:
		if e.Status == http.StatusUnauthorized {
			fmt.Fprintf(&b, "%s rejected HF_TOKEN (401): check that the token is valid", e.Endpoint)
		} else {
			fmt.Fprintf(&b, "access to %s denied (%d): check that HF_TOKEN has read permission", e.Repo, e.Status)
		}
	default:
		fmt.Fprintf(&b, "%s: HTTP %d %s", e.URL, e.Status, http.StatusText(e.Status))
		switch {
		case e.Status == http.StatusTooManyRequests:
			b.WriteString(" (rate limited; try again later")
			if !e.HadToken {
				b.WriteString(", or set HF_TOKEN for a higher limit")
			}
			b.WriteString(")")
		case e.Status >= 500:
			b.WriteString(" (server error; try again later)")
		}
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": server says %q", e.Message)
	}
	return b.String()
}

// classify picks the sentinel for an error answer the way the Hub's own
// client does: X-Error-Code first, then the status. notFound is the
// sentinel for a bare 404 (the repository for API calls, the file for
// downloads).
func classify(status int, code, msg string, hadToken bool, notFound error) error {
	switch code {
	case "RepoNotFound":
		return ErrRepoNotFound
	case "RevisionNotFound":
		return ErrRevisionNotFound
	case "GatedRepo":
		return ErrGated
	case "EntryNotFound":
		return ErrEntryNotFound
	}
	switch status {
	case http.StatusUnauthorized:
		if hadToken && strings.Contains(strings.ToLower(msg), "invalid credentials") {
			return ErrUnauthorized
		}
		// The Hub answers 401 for missing, private and gated repositories
		// alike when the caller is anonymous.
		return ErrRepoNotFound
	case http.StatusForbidden:
		return ErrUnauthorized
	case http.StatusNotFound:
		return notFound
	}
	return nil
}

// sanitize makes a server-supplied message safe to print: no control
// characters, bounded length.
func sanitize(s string) string {
	const limit = 300
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > limit {
		cut := limit
		for cut > 0 && (s[cut]&0xC0) == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// VerifyError reports content that does not match its listing.
type VerifyError struct {
	Path      string
	Algorithm string // "size", "sha256" or "git-sha1"
	Want, Got string
}

func (e *VerifyError) Error() string {
	if e.Algorithm == "size" {
		return fmt.Sprintf("size mismatch for %s: listing says %s bytes, got %s", e.Path, e.Want, e.Got)
	}
	return fmt.Sprintf("%s mismatch for %s: want %s, got %s", e.Algorithm, e.Path, e.Want, e.Got)
}

// Unwrap makes errors.Is(err, ErrVerify) true.
func (e *VerifyError) Unwrap() error { return ErrVerify }

// retryable marks transient failures: connection errors, stalls, 5xx, 429.
type retryable struct {
	err        error
	retryAfter int // seconds from a Retry-After header, or 0
}

func (r *retryable) Error() string { return r.err.Error() }
func (r *retryable) Unwrap() error { return r.err }
