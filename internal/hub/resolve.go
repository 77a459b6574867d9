package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Bounds on what Resolve accepts from a server.
const (
	maxAPIBody  = 64 << 20 // bytes in one JSON answer
	maxTreePage = 100_000  // pages of one listing
	maxFiles    = 1 << 20  // files in one listing
)

// RepoFile is one file of a repository listing.
type RepoFile struct {
	Path   string   // '/'-separated, relative; validated by ValidatePath
	Size   int64    // bytes of the content (for LFS files, of the real content)
	GitOID string   // git blob id (hex sha1); for LFS files, of the pointer file
	LFS    *LFSInfo // nil for files stored in git itself
}

// LFSInfo describes the content of a file stored in Git LFS (or Xet).
type LFSInfo struct {
	SHA256 string // lowercase hex sha256 of the content
	Size   int64
}

// Snapshot is a repository at one commit, with its file listing sorted by
// path.
type Snapshot struct {
	Repo     string // "org/name"
	Revision string // as requested: branch, tag or commit
	Commit   string // 40-hex commit the revision resolved to
	Gated    bool
	Private  bool
	Files    []RepoFile
}

// Size returns the total size of files.
func Size(files []RepoFile) int64 {
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// Resolve asks the Hub which commit ref.Revision points to and lists every
// file at that commit (following the listing's pagination). Paths, sizes
// and digests in the listing are validated; a hostile listing (a path such
// as "../x", a file listed twice) is an error wrapping ErrUnsafePath.
//
// For a gated repository and no token it fails early with ErrGated.
func (c *Client) Resolve(ctx context.Context, ref Ref) (*Snapshot, error) {
	if err := ValidateRepoID(ref.Repo); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	if ref.Revision == "" {
		ref.Revision = DefaultRevision
	}
	if err := validateRevision(ref.Revision); err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	ep, base, err := c.endpoint()
	if err != nil {
		return nil, err
	}
	log := c.logger()

	ec := errorContext{repo: ref.Repo, revision: ref.Revision, notFound: ErrRepoNotFound}
	infoURL := ep + "/api/models/" + ref.Repo + "/revision/" + escapeSegment(ref.Revision)
	log.Debug("hub: resolve revision", "url", infoURL)
	body, _, err := c.getAPI(ctx, infoURL, base, ec)
	if err != nil {
		return nil, err
	}
	snap, err := decodeInfo(body)
	if err != nil {
		return nil, fmt.Errorf("hub: revision answer for %s@%s: %w", ref.Repo, ref.Revision, err)
	}
	snap.Repo, snap.Revision = ref.Repo, ref.Revision
	if isHex(ref.Revision, 40) && snap.Commit != ref.Revision {
		return nil, fmt.Errorf("hub: asked for commit %s of %s, server answered commit %s", ref.Revision, ref.Repo, snap.Commit)
	}
	if snap.Gated && c.Token == "" {
		return nil, &APIError{Repo: ref.Repo, Revision: ref.Revision, Endpoint: ep, kind: ErrGated}
	}

	next := ep + "/api/models/" + ref.Repo + "/tree/" + snap.Commit + "?recursive=true"
	visited := make(map[string]bool)
	for page := 0; next != ""; page++ {
		if visited[next] {
			return nil, fmt.Errorf("hub: listing of %s loops back to page %s", ref.Repo, next)
		}
		visited[next] = true
		if page >= maxTreePage {
			return nil, fmt.Errorf("hub: listing of %s has more than %d pages", ref.Repo, maxTreePage)
		}
		log.Debug("hub: list tree", "url", next)
		body, hdr, err := c.getAPI(ctx, next, base, ec)
		if err != nil {
			return nil, err
		}
		files, err := decodeTreePage(body)
		if err != nil {
			return nil, fmt.Errorf("hub: listing of %s@%s, page %d: %w", ref.Repo, snap.Commit, page+1, err)
		}
		if len(snap.Files)+len(files) > maxFiles {
			return nil, fmt.Errorf("hub: listing of %s has more than %d files", ref.Repo, maxFiles)
		}
		snap.Files = append(snap.Files, files...)
		next, err = nextPage(hdr, next, base)
		if err != nil {
			return nil, fmt.Errorf("hub: listing of %s@%s: %w", ref.Repo, snap.Commit, err)
		}
	}
	slices.SortFunc(snap.Files, func(a, b RepoFile) int { return strings.Compare(a.Path, b.Path) })
	if err := checkFiles(snap.Files); err != nil {
		return nil, fmt.Errorf("hub: listing of %s@%s: %w", ref.Repo, snap.Commit, err)
	}
	return snap, nil
}

// getAPI GETs a JSON API URL with retries and returns the body (bounded by
// maxAPIBody) and headers of a 200 answer.
func (c *Client) getAPI(ctx context.Context, rawURL string, base *url.URL, ec errorContext) ([]byte, http.Header, error) {
	var body []byte
	var hdr http.Header
	err := c.retry(ctx, rawURL, func() (bool, error) {
		rctx, wd := c.startWatchdog(ctx)
		defer wd.stop()
		req, err := c.newRequest(rctx, rawURL, base)
		if err != nil {
			return false, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := c.httpClient().Do(req)
		if err != nil {
			return false, transportError(ctx, rctx, err, "GET "+rawURL)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, c.responseError(resp, ec)
		}
		wd.kick()
		b, err := io.ReadAll(io.LimitReader(kickReader{resp.Body, wd}, maxAPIBody+1))
		if err != nil {
			return false, transportError(ctx, rctx, err, "GET "+rawURL)
		}
		if len(b) > maxAPIBody {
			return false, fmt.Errorf("hub: %s: answer larger than %d bytes", rawURL, maxAPIBody)
		}
		body, hdr = b, resp.Header
		return false, nil
	})
	return body, hdr, err
}

// kickReader resets a watchdog on every successful read.
type kickReader struct {
	r  io.Reader
	wd *watchdog
}

func (k kickReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	if n > 0 {
		k.wd.kick()
	}
	return n, err
}

// decodeInfo decodes the answer of /api/models/{repo}/revision/{rev}.
func decodeInfo(data []byte) (*Snapshot, error) {
	var info struct {
		SHA     string          `json:"sha"`
		Private bool            `json:"private"`
		Gated   json.RawMessage `json:"gated"`
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	if !isHex(info.SHA, 40) {
		return nil, fmt.Errorf("field sha %q is not a 40-hex commit id", info.SHA)
	}
	gated, err := decodeGated(info.Gated)
	if err != nil {
		return nil, err
	}
	return &Snapshot{Commit: info.SHA, Private: info.Private, Gated: gated}, nil
}

// decodeGated reads the "gated" field: false, or "auto"/"manual" (any
// non-empty string or true counts as gated).
func decodeGated(raw json.RawMessage) (bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s != "" && s != "false", nil
	}
	return false, fmt.Errorf("field gated: unexpected value %.40s", raw)
}

// treeEntry is one element of the tree API's JSON array.
type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	OID  string `json:"oid"`
	LFS  *struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	} `json:"lfs"`
}

// decodeTreePage decodes one page of /api/models/{repo}/tree/{commit} and
// validates every file entry; directory entries are dropped.
func decodeTreePage(data []byte) ([]RepoFile, error) {
	var entries []treeEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	files := make([]RepoFile, 0, len(entries))
	for i, e := range entries {
		switch e.Type {
		case "directory":
			continue
		case "file":
		default:
			return nil, fmt.Errorf("entry %d: unknown type %q", i, e.Type)
		}
		if err := ValidatePath(e.Path); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		f := RepoFile{Path: e.Path, Size: e.Size, GitOID: e.OID}
		if e.LFS != nil {
			f.LFS = &LFSInfo{SHA256: e.LFS.OID, Size: e.LFS.Size}
		}
		if err := checkDigests(f); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// nextPage returns the absolute URL of the rel="next" Link of a listing
// page, or "" on the last page. A next page on another origin than the
// endpoint is refused: following it would send the token there.
func nextPage(h http.Header, current string, base *url.URL) (string, error) {
	for _, v := range h.Values("Link") {
		ref, ok := parseNextLink(v)
		if !ok {
			continue
		}
		cur, err := url.Parse(current)
		if err != nil {
			return "", err
		}
		u, err := cur.Parse(ref)
		if err != nil {
			return "", fmt.Errorf("next-page link %q: %w", ref, err)
		}
		if !sameOrigin(base, u) {
			return "", fmt.Errorf("next-page link %q leaves the endpoint %s", ref, base.Host)
		}
		return u.String(), nil
	}
	return "", nil
}

// parseNextLink finds the target of a rel="next" entry in an RFC 8288 Link
// header value such as `<https://x/y?cursor=2>; rel="next", <…>; rel="prev"`.
func parseNextLink(v string) (string, bool) {
	for {
		open := strings.IndexByte(v, '<')
		if open < 0 {
			return "", false
		}
		end := strings.IndexByte(v[open:], '>')
		if end < 0 {
			return "", false
		}
		target := v[open+1 : open+end]
		v = v[open+end+1:]
		params := v
		if i := strings.IndexByte(v, '<'); i >= 0 {
			params = v[:i]
		}
		if strings.ContainsRune(target, '<') {
			continue
		}
		// Parameters follow the target, each introduced by ';'.
		_, params, _ = strings.Cut(params, ";")
		for p := range strings.SplitSeq(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(strings.TrimRight(strings.TrimSpace(p), ",")), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			val = strings.Trim(strings.TrimSpace(val), `"`)
			for rel := range strings.FieldsSeq(val) {
				if strings.EqualFold(rel, "next") {
					return target, true
				}
			}
		}
	}
}
