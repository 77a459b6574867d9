// Package hubtest runs a small Hugging Face Hub look-alike on 127.0.0.1 for
// tests: the revision and tree API endpoints, the resolve endpoint, and a
// second "CDN" server on another port that large (LFS) files redirect to.
//
// It speaks the Hub's wire format (JSON shapes, X-Error-Code headers, Link
// pagination, Range requests) so that a client tested against it behaves
// against the real Hub. It records every request and can inject faults
// (error statuses, cut connections, stalls, ignored ranges, corrupt bytes).
//
// It is test support only: it must not be used by production code, it never
// touches the internet, and it does not implement uploads, search or any
// endpoint beyond what a downloading client needs. It deliberately does not
// import the client package it helps to test, so that it stays an
// independent implementation of the protocol.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Repo describes one model repository served by a Server. The repository
// has a single snapshot: every revision in Revisions must name Commit.
type Repo struct {
	// ID is "org/name".
	ID string
	// Revisions maps branch and tag names to a commit. Nil means
	// {"main": Commit}. The commit sha itself is always a valid revision.
	Revisions map[string]string
	// Commit is the 40-hex commit id. Empty means one derived from ID and
	// Files.
	Commit string
	// Files maps repository paths to content. Paths are served verbatim in
	// the tree listing, even hostile ones such as "../evil".
	Files map[string][]byte
	// LFS reports which files are stored in LFS (served by redirect to the
	// CDN). Nil means none.
	LFS func(path string) bool
	// Gated makes the repository gated: metadata and listing are public,
	// file content needs Token.
	Gated bool
	// Token, when set, is the bearer token that grants access. With Gated
	// false and Token set, the repository is private: every endpoint needs it.
	Token string
}

// Fault is a misbehaviour injected for requests of one file (or of the API).
type Fault struct {
	// Times is how many requests the fault applies to; 0 means all of them.
	Times int
	// Status, when non-zero, is answered instead of the content, with an
	// empty body.
	Status int
	// RetryAfter is sent as the Retry-After header along with Status.
	RetryAfter string
	// Cut sends After bytes of the body and then drops the connection.
	Cut bool
	// Hang sends After bytes of the body and then stalls until the client
	// goes away (or the server closes).
	Hang bool
	// After is the number of body bytes sent before Cut or Hang.
	After int64
	// IgnoreRange answers a Range request with 200 and the whole file.
	IgnoreRange bool
	// Corrupt flips one byte of the content (the length stays the same).
	Corrupt bool
	// Delay waits this long before answering.
	Delay time.Duration
}

// Request is one request seen by the hub or the CDN.
type Request struct {
	Server        string // "hub" or "cdn"
	Method        string
	Path          string // escaped path as received
	Query         string
	Range         string
	Authorization string
	Status        int
}

// Server is a running fake Hub. Create it with New.
type Server struct {
	// URL is the Hub endpoint (what HF_ENDPOINT would be set to).
	URL string
	// CDNURL is the base URL of the second server that serves LFS content.
	CDNURL string

	hub, cdn *httptest.Server
	done     chan struct{}

	mu       sync.Mutex
	repos    map[string]*repo
	blobs    map[string][]byte // sha256 hex → content, for the CDN
	faults   map[string][]*Fault
	log      []*Request
	pageSize int
	inFlight int // content requests being answered now
	maxIn    int // most content requests answered at once
}

type repo struct {
	Repo
	lfs   map[string]bool
	paths []string // sorted
}

// New starts a hub and a CDN server on 127.0.0.1 serving repos and registers
// their shutdown with t.Cleanup. Invalid repos fail the test.
func New(t testing.TB, repos ...Repo) *Server {
	t.Helper()
	s := &Server{
		done:     make(chan struct{}),
		repos:    make(map[string]*repo),
		blobs:    make(map[string][]byte),
		faults:   make(map[string][]*Fault),
		pageSize: 2,
	}
	for _, r := range repos {
		rp, err := newRepo(r)
		if err != nil {
			t.Fatalf("hubtest: %v", err)
		}
		if _, dup := s.repos[rp.ID]; dup {
			t.Fatalf("hubtest: repository %s given twice", rp.ID)
		}
		s.repos[rp.ID] = rp
		for p, isLFS := range rp.lfs {
			if isLFS {
				sum := sha256.Sum256(rp.Files[p])
				s.blobs[hex.EncodeToString(sum[:])] = rp.Files[p]
			}
		}
	}
	// Both listeners exist, and the URLs are set, before either serves, so
	// that handlers reading them happen after the writes.
	s.hub = httptest.NewUnstartedServer(s.recorder("hub", http.HandlerFunc(s.serveHub)))
	s.cdn = httptest.NewUnstartedServer(s.recorder("cdn", http.HandlerFunc(s.serveCDN)))
	s.URL = "http://" + s.hub.Listener.Addr().String()
	s.CDNURL = "http://" + s.cdn.Listener.Addr().String()
	s.hub.Start()
	s.cdn.Start()
	t.Cleanup(func() {
		close(s.done)
		s.hub.Close()
		s.cdn.Close()
	})
	return s
}

func newRepo(r Repo) (*repo, error) {
	org, name, ok := strings.Cut(r.ID, "/")
	if !ok || org == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("repository id %q: want org/name", r.ID)
	}
	rp := &repo{Repo: r, lfs: make(map[string]bool)}
	for p := range r.Files {
		rp.paths = append(rp.paths, p)
		rp.lfs[p] = r.LFS != nil && r.LFS(p)
	}
	slices.Sort(rp.paths)
	if rp.Commit == "" {
		h := sha1.New()
		fmt.Fprintf(h, "%s\x00", r.ID)
		for _, p := range rp.paths {
			fmt.Fprintf(h, "%s\x00%d\x00", p, len(r.Files[p]))
			h.Write(r.Files[p])
		}
		rp.Commit = hex.EncodeToString(h.Sum(nil))
	}
	if !isHex(rp.Commit, 40) {
		return nil, fmt.Errorf("repository %s: commit %q is not 40 lowercase hex digits", r.ID, rp.Commit)
	}
	if rp.Revisions == nil {
		rp.Revisions = map[string]string{"main": rp.Commit}
	}
	for rev, c := range rp.Revisions {
		if c != rp.Commit {
			return nil, fmt.Errorf("repository %s: revision %q names commit %q, but the only snapshot is %q", r.ID, rev, c, rp.Commit)
		}
	}
	return rp, nil
}

// SetPageSize sets how many entries one tree page holds (default 2).
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = max(n, 1)
}

// Inject queues a fault for requests of the file at path (in any
// repository); path "" means the API endpoints (revision and tree). Faults
// for one path apply in the order injected. For an LFS file the fault
// applies at the CDN, for other files at the resolve endpoint. For the API
// only Status and RetryAfter apply.
func (s *Server) Inject(path string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = append(s.faults[path], &f)
}

// ClearFaults removes every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// MaxInFlight returns the largest number of file content requests (hub
// and CDN together) that were being answered at the same time.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxIn
}

// Requests returns a copy of every request seen so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		out[i] = *r
	}
	return out
}

// ResetRequests forgets the requests seen so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Authorizations returns the non-empty Authorization headers the named
// server ("hub" or "cdn") has received.
func (s *Server) Authorizations(server string) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Server == server && r.Authorization != "" {
			out = append(out, r.Authorization)
		}
	}
	return out
}

// LFSPointer returns the git-lfs pointer file for content, whose git blob id
// is what the Hub lists as the "oid" of an LFS file.
func LFSPointer(content []byte) []byte {
	sum := sha256.Sum256(content)
	return fmt.Appendf(nil, "version https://git-lfs.github.com/spec/v1\noid sha256:%x\nsize %d\n", sum, len(content))
}

// GitBlobID returns the git blob id of content: the hex SHA-1 of
// "blob <size>\x00" followed by content.
func GitBlobID(content []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(content))
	h.Write(content)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 returns the lowercase hex SHA-256 of content.
func SHA256(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// statusWriter records the answer's status in the request log as soon as
// the header is written, before the client can see the response.
type statusWriter struct {
	http.ResponseWriter
	s     *Server
	entry *Request
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.s.mu.Lock()
		w.entry.Status = code
		w.s.mu.Unlock()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// recorder logs each request when it arrives, so that a client that got an
// answer always finds its request in the log.
func (s *Server) recorder(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entry := &Request{
			Server:        name,
			Method:        r.Method,
			Path:          r.URL.EscapedPath(),
			Query:         r.URL.RawQuery,
			Range:         r.Header.Get("Range"),
			Authorization: r.Header.Get("Authorization"),
		}
		s.mu.Lock()
		s.log = append(s.log, entry)
		s.mu.Unlock()
		h.ServeHTTP(&statusWriter{ResponseWriter: w, s: s, entry: entry}, r)
	})
}

// takeFault pops the next fault for path, or returns nil.
func (s *Server) takeFault(path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[path]
	if len(q) == 0 {
		return nil
	}
	f := *q[0]
	if q[0].Times > 0 {
		q[0].Times--
		if q[0].Times == 0 {
			s.faults[path] = q[1:]
		}
	}
	return &f
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// splitPath splits an escaped URL path into unescaped segments.
func splitPath(escaped string) ([]string, bool) {
	raw := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		u, err := url.PathUnescape(r)
		if err != nil {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		http.Error(w, "bad path escape", http.StatusBadRequest)
		return
	}
	switch {
	case len(segs) >= 4 && segs[0] == "api" && segs[1] == "models":
		if f := s.takeFault(""); f != nil && f.Status != 0 {
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			w.WriteHeader(f.Status)
			return
		}
		rp, ok := s.authorize(w, r, segs[2]+"/"+segs[3], false)
		if !ok {
			return
		}
		rest := segs[4:]
		switch {
		case len(rest) == 0:
			s.serveInfo(w, rp, "main")
		case rest[0] == "revision" && len(rest) >= 2:
			s.serveInfo(w, rp, strings.Join(rest[1:], "/"))
		case rest[0] == "tree" && len(rest) >= 2:
			s.serveTree(w, r, rp, rest[1], strings.Join(rest[2:], "/"))
		default:
			http.NotFound(w, r)
		}
	case len(segs) >= 5 && segs[2] == "resolve":
		rp, ok := s.authorize(w, r, segs[0]+"/"+segs[1], true)
		if !ok {
			return
		}
		s.serveResolve(w, r, rp, segs[3], strings.Join(segs[4:], "/"))
	default:
		http.NotFound(w, r)
	}
}

// authorize finds the repository and checks the bearer token the way the
// Hub does; it writes the error answer itself and reports whether to go on.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, id string, content bool) (*repo, bool) {
	s.mu.Lock()
	rp := s.repos[id]
	s.mu.Unlock()
	auth := r.Header.Get("Authorization")
	if rp == nil {
		// The Hub answers 401 to anonymous callers so as not to reveal
		// whether a private repository exists.
		status := http.StatusUnauthorized
		if auth != "" {
			status = http.StatusNotFound
		}
		hubError(w, status, "RepoNotFound", "Repository not found")
		return nil, false
	}
	if rp.Token == "" || auth == "Bearer "+rp.Token {
		return rp, true
	}
	switch {
	case rp.Gated && !content:
		return rp, true
	case rp.Gated && auth == "":
		hubError(w, http.StatusUnauthorized, "GatedRepo",
			fmt.Sprintf("Access to model %s is restricted. You must have access to it and be authenticated to access it. Please log in.", rp.ID))
	case rp.Gated:
		hubError(w, http.StatusForbidden, "GatedRepo",
			fmt.Sprintf("Access to model %s is restricted and you are not in the authorized list. Visit %s/%s to ask for access.", rp.ID, s.URL, rp.ID))
	case auth == "":
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
	default:
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
	}
	return nil, false
}

func (rp *repo) commitFor(rev string) (string, bool) {
	if rev == rp.Commit {
		return rp.Commit, true
	}
	c, ok := rp.Revisions[rev]
	return c, ok
}

func (s *Server) serveInfo(w http.ResponseWriter, rp *repo, rev string) {
	commit, ok := rp.commitFor(rev)
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
	}
	info := struct {
		ID       string    `json:"id"`
		ModelID  string    `json:"modelId"`
		SHA      string    `json:"sha"`
		Private  bool      `json:"private"`
		Gated    any       `json:"gated"`
		Disabled bool      `json:"disabled"`
		Siblings []sibling `json:"siblings"`
	}{ID: rp.ID, ModelID: rp.ID, SHA: commit, Private: rp.Token != "" && !rp.Gated, Gated: false, Siblings: []sibling{}}
	if rp.Gated {
		info.Gated = "manual"
	}
	for _, p := range rp.paths {
		info.Siblings = append(info.Siblings, sibling{p})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(info)
}

type lfsJSON struct {
	OID         string `json:"oid"`
	Size        int    `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

type treeEntry struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int      `json:"size"`
	Path string   `json:"path"`
	LFS  *lfsJSON `json:"lfs,omitempty"`
}

func (rp *repo) tree(prefix string, recursive bool) []treeEntry {
	var out []treeEntry
	dirs := make(map[string]bool)
	for _, p := range rp.paths {
		rel := p
		if prefix != "" {
			var ok bool
			if rel, ok = strings.CutPrefix(p, prefix+"/"); !ok {
				continue
			}
		}
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			if prefix != "" {
				d = prefix + "/" + d
			}
			if !dirs[d] && (recursive || i == 1) {
				dirs[d] = true
				out = append(out, treeEntry{Type: "directory", OID: GitBlobID([]byte(d)), Path: d})
			}
		}
		if !recursive && len(parts) > 1 {
			continue
		}
		content := rp.Files[p]
		e := treeEntry{Type: "file", Size: len(content), Path: p}
		if rp.lfs[p] {
			ptr := LFSPointer(content)
			e.OID = GitBlobID(ptr)
			e.LFS = &lfsJSON{OID: SHA256(content), Size: len(content), PointerSize: len(ptr)}
		} else {
			e.OID = GitBlobID(content)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b treeEntry) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func (s *Server) serveTree(w http.ResponseWriter, r *http.Request, rp *repo, rev, prefix string) {
	if _, ok := rp.commitFor(rev); !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	q := r.URL.Query()
	entries := rp.tree(prefix, q.Get("recursive") == "true" || q.Get("recursive") == "1")
	start := 0
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > len(entries) {
			hubError(w, http.StatusBadRequest, "", "invalid cursor")
			return
		}
		start = n
	}
	s.mu.Lock()
	size := s.pageSize
	s.mu.Unlock()
	end := min(start+size, len(entries))
	if end < len(entries) {
		next := *r.URL
		next.Scheme, next.Host = "http", r.Host
		nq := next.Query()
		nq.Set("cursor", strconv.Itoa(end))
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next.String()))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(entries[start:end])
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, rp *repo, rev, p string) {
	commit, ok := rp.commitFor(rev)
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	content, ok := rp.Files[p]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if rp.lfs[p] {
		sum := SHA256(content)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(content)))
		w.Header().Set("ETag", `"`+sum+`"`)
		loc := s.CDNURL + "/lfs/" + sum + "?path=" + url.QueryEscape(p)
		http.Redirect(w, r, loc, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+GitBlobID(content)+`"`)
	s.serveContent(w, r, p, content)
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	sum, ok := strings.CutPrefix(r.URL.Path, "/lfs/")
	s.mu.Lock()
	content, found := s.blobs[sum]
	s.mu.Unlock()
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	s.serveContent(w, r, r.URL.Query().Get("path"), content)
}

// serveContent answers a GET or HEAD for content, honouring a single
// "bytes=N-" or "bytes=N-M" range and the faults queued for p.
func (s *Server) serveContent(w http.ResponseWriter, r *http.Request, p string, content []byte) {
	s.mu.Lock()
	s.inFlight++
	s.maxIn = max(s.maxIn, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	f := s.takeFault(p)
	if f == nil {
		f = &Fault{}
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Status != 0 {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(f.Status)
		return
	}
	if f.Corrupt && len(content) > 0 {
		content = slices.Clone(content)
		content[len(content)/2] ^= 0x5a
	}
	size := int64(len(content))
	start, end := int64(0), size
	status := http.StatusOK
	w.Header().Set("Accept-Ranges", "bytes")
	if rg := r.Header.Get("Range"); rg != "" && !f.IgnoreRange {
		a, b, ok := parseRange(rg)
		if !ok || a >= size || (b >= 0 && b < a) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start = a
		if b >= 0 && b < size {
			end = b + 1
		}
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
	}
	body := content[start:end]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if f.Cut || f.Hang {
		n := min(max(f.After, 0), int64(len(body)))
		w.Write(body[:n])
		w.(http.Flusher).Flush()
		if f.Hang {
			select {
			case <-r.Context().Done():
			case <-s.done:
			case <-time.After(time.Minute):
			}
		}
		// Aborting the handler makes the server drop the connection, so
		// the client sees a body shorter than Content-Length.
		panic(http.ErrAbortHandler)
	}
	w.Write(body)
}

// parseRange parses "bytes=N-" or "bytes=N-M"; end is -1 when open.
func parseRange(h string) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if b == "" {
		return start, -1, true
	}
	end, err = strconv.ParseInt(b, 10, 64)
	if err != nil || end < 0 {
		return 0, 0, false
	}
	return start, end, true
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
