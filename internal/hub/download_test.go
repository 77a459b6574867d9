package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/hub"
	"sov.dev/sov/internal/hub/hubtest"
)

// counter is a Progress that sums what it is given.
type counter struct{ n atomic.Int64 }

func (c *counter) Add(n int64) { c.n.Add(n) }

func resolve(t *testing.T, c *hub.Client, repo string) *hub.Snapshot {
	t.Helper()
	snap, err := c.Resolve(context.Background(), hub.Ref{Repo: repo})
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return snap
}

// tree returns every regular file under dir, relative, with its content.
func tree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// digests maps each path to the sha256 of its content, which compares
// (and diffs) much faster than the content itself.
func digests(files map[string][]byte) map[string]string {
	out := make(map[string]string, len(files))
	for p, b := range files {
		out[p] = hubtest.SHA256(b)
	}
	return out
}

func contentRequests(srv *hubtest.Server) []hubtest.Request {
	var out []hubtest.Request
	for _, r := range srv.Requests() {
		if r.Server == "cdn" || strings.Contains(r.Path, "/resolve/") {
			out = append(out, r)
		}
	}
	return out
}

func TestDownloadAll(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	c := testClient(srv)
	snap := resolve(t, c, "org/tiny")
	dir := t.TempDir()
	var p counter
	if err := c.Download(context.Background(), snap, snap.Files, dir, &p); err != nil {
		t.Fatalf("Download: %v", err)
	}
	if diff := cmp.Diff(digests(modelFiles()), digests(tree(t, dir))); diff != "" {
		t.Errorf("downloaded tree mismatch (-want +got):\n%s", diff)
	}
	if got, want := p.n.Load(), hub.Size(snap.Files); got != want {
		t.Errorf("progress = %d, want %d", got, want)
	}
	// Every file is fetched by commit, LFS files through the CDN; the empty
	// file needs no request at all.
	var cdn, hubReqs int
	for _, r := range contentRequests(srv) {
		if r.Server == "cdn" {
			cdn++
			continue
		}
		hubReqs++
		if !strings.Contains(r.Path, "/resolve/"+commit+"/") {
			t.Errorf("resolve request %s is not by commit", r.Path)
		}
	}
	if cdn != 2 {
		t.Errorf("%d CDN requests, want 2 (the LFS files)", cdn)
	}
	if want := len(modelFiles()) - 1; hubReqs != want {
		t.Errorf("%d resolve requests, want %d", hubReqs, want)
	}
}

func TestDownloadSkipsVerifiedFiles(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	c := testClient(srv)
	snap := resolve(t, c, "org/tiny")
	dir := t.TempDir()
	if err := c.Download(context.Background(), snap, snap.Files, dir, nil); err != nil {
		t.Fatal(err)
	}

	srv.ResetRequests()
	var p counter
	if err := c.Download(context.Background(), snap, snap.Files, dir, &p); err != nil {
		t.Fatal(err)
	}
	if got := contentRequests(srv); len(got) != 0 {
		t.Errorf("second download made %d content requests, want 0", len(got))
	}
	if got, want := p.n.Load(), hub.Size(snap.Files); got != want {
		t.Errorf("progress = %d, want %d", got, want)
	}

	// Same size, other content: the file does not verify and is fetched again.
	tampered := filepath.Join(dir, "model.safetensors")
	b, _ := os.ReadFile(tampered)
	b[0] ^= 1
	if err := os.WriteFile(tampered, b, 0o644); err != nil {
		t.Fatal(err)
	}
	srv.ResetRequests()
	if err := c.Download(context.Background(), snap, snap.Files, dir, nil); err != nil {
		t.Fatal(err)
	}
	if got := len(contentRequests(srv)); got != 2 { // resolve + CDN
		t.Errorf("%d content requests after tampering, want 2", got)
	}
	if diff := cmp.Diff(digests(modelFiles()), digests(tree(t, dir))); diff != "" {
		t.Errorf("tree after repair mismatch (-want +got):\n%s", diff)
	}
}

func TestDownloadInclude(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	c := testClient(srv)
	snap := resolve(t, c, "org/tiny")
	files, err := hub.FilterFiles(snap.Files, []string{"*.json", "tokenizer/"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.Download(context.Background(), snap, files, dir, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for p := range tree(t, dir) {
		got = append(got, p)
	}
	slices.Sort(got)
	want := []string{"config.json", "tokenizer/nested/x.json", "tokenizer/vocab.json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files mismatch (-want +got):\n%s", diff)
	}
}

func TestDownloadParallel(t *testing.T) {
	files := make(map[string][]byte)
	for i := range 8 {
		files[fmt.Sprintf("shard-%d.bin", i)] = randomBytes(uint64(i), 1000)
	}
	tests := []struct{ parallel, wantMax int }{
		{1, 1},
		{3, 3},
		{0, hub.DefaultParallel},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.parallel), func(t *testing.T) {
			srv := hubtest.New(t, hubtest.Repo{ID: "org/shards", Files: files})
			for p := range files {
				srv.Inject(p, hubtest.Fault{Times: 1, Delay: 150 * time.Millisecond})
			}
			c := testClient(srv)
			c.Parallel = tt.parallel
			snap := resolve(t, c, "org/shards")
			dir := t.TempDir()
			if err := c.Download(context.Background(), snap, snap.Files, dir, nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(digests(files), digests(tree(t, dir))); diff != "" {
				t.Errorf("tree mismatch (-want +got):\n%s", diff)
			}
			if got := srv.MaxInFlight(); got != tt.wantMax {
				t.Errorf("at most %d requests at once, want %d", got, tt.wantMax)
			}
		})
	}
}

func TestDownloadResumesAfterCut(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		server string // where the bytes come from
	}{
		{"LFS via CDN", "model.safetensors", "cdn"},
		{"git file via hub", "tokenizer/nested/x.json", "hub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.New(t, modelRepo())
			c := testClient(srv)
			snap := resolve(t, c, "org/tiny")
			files, err := hub.FilterFiles(snap.Files, []string{tt.path})
			if err != nil {
				t.Fatal(err)
			}
			size := files[0].Size
			cut := size / 3
			srv.Inject(tt.path, hubtest.Fault{Times: 1, Cut: true, After: cut})
			dir := t.TempDir()

			// First attempt, without retries: it fails and keeps the part.
			c.Retries = -1
			err = c.Download(context.Background(), snap, files, dir, nil)
			if err == nil {
				t.Fatal("Download succeeded despite the cut connection")
			}
			part := filepath.Join(dir, filepath.FromSlash(tt.path)+".part")
			fi, statErr := os.Stat(part)
			if statErr != nil || fi.Size() != cut {
				t.Fatalf("after the cut: part %v, size %d; want %d bytes", statErr, fi.Size(), cut)
			}
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(tt.path))); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("final file exists after a failed download: %v", err)
			}

			// Second attempt resumes with a Range request.
			c.Retries = 0
			srv.ResetRequests()
			var p counter
			if err := c.Download(context.Background(), snap, files, dir, &p); err != nil {
				t.Fatalf("resumed Download: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tt.path)))
			if err != nil || !bytes.Equal(got, modelFiles()[tt.path]) {
				t.Errorf("resumed file differs from the original (err %v)", err)
			}
			if _, err := os.Stat(part); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("part file still there: %v", err)
			}
			if p.n.Load() != size {
				t.Errorf("progress = %d, want %d", p.n.Load(), size)
			}
			var ranged []hubtest.Request
			for _, r := range srv.Requests() {
				if r.Server == tt.server && r.Range != "" {
					ranged = append(ranged, r)
				}
			}
			want := fmt.Sprintf("bytes=%d-", cut)
			if len(ranged) != 1 || ranged[0].Range != want || ranged[0].Status != http.StatusPartialContent {
				t.Errorf("ranged requests to %s = %+v, want one %s answered 206", tt.server, ranged, want)
			}
		})
	}
}

func TestDownloadRetriesWithinOneCall(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	c := testClient(srv)
	snap := resolve(t, c, "org/tiny")
	files, _ := hub.FilterFiles(snap.Files, []string{"*.safetensors"})
	// Cut three times at growing offsets, then a 503: every attempt but the
	// last makes progress, so the default retry budget is enough.
	srv.Inject("model.safetensors", hubtest.Fault{Times: 1, Cut: true, After: 1000})
	srv.Inject("model.safetensors", hubtest.Fault{Times: 1, Cut: true, After: 2000})
	srv.Inject("model.safetensors", hubtest.Fault{Times: 1, Cut: true, After: 3000})
	srv.Inject("model.safetensors", hubtest.Fault{Times: 1, Status: 503})
	dir := t.TempDir()
	var p counter
	if err := c.Download(context.Background(), snap, files, dir, &p); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if !bytes.Equal(got, modelFiles()["model.safetensors"]) {
		t.Error("file differs from the original")
	}
	if p.n.Load() != files[0].Size {
		t.Errorf("progress = %d, want %d", p.n.Load(), files[0].Size)
	}
	var ranges []string
	for _, r := range srv.Requests() {
		if r.Server == "cdn" {
			ranges = append(ranges, r.Range)
		}
	}
	want := []string{"", "bytes=1000-", "bytes=3000-", "bytes=6000-", "bytes=6000-"}
	if diff := cmp.Diff(want, ranges); diff != "" {
		t.Errorf("CDN Range headers mismatch (-want +got):\n%s", diff)
	}
}

func TestDownloadRetryBudget(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	srv.Inject("config.json", hubtest.Fault{Status: 500})
	c := testClient(srv)
	c.Retries = 2
	snap := resolve(t, c, "org/tiny")
	files, _ := hub.FilterFiles(snap.Files, []string{"config.json"})
	err := c.Download(context.Background(), snap, files, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("error = %v, want a 500 for config.json", err)
	}
	if got := len(contentRequests(srv)); got != 3 {
		t.Errorf("%d attempts, want 3", got)
	}
}

func TestDownloadRestartsWhenRangeUnusable(t *testing.T) {
	tests := []struct {
		name  string
		fault hubtest.Fault
	}{
		{"200 to a Range request", hubtest.Fault{Times: 1, IgnoreRange: true}},
		{"416", hubtest.Fault{Times: 1, Status: http.StatusRequestedRangeNotSatisfiable}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.New(t, modelRepo())
			c := testClient(srv)
			snap := resolve(t, c, "org/tiny")
			files, _ := hub.FilterFiles(snap.Files, []string{"onnx/"})
			content := modelFiles()["onnx/model.onnx"]
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "onnx"), 0o755); err != nil {
				t.Fatal(err)
			}
			// A part from an earlier run: the first 5000 bytes.
			if err := os.WriteFile(filepath.Join(dir, "onnx", "model.onnx.part"), content[:5000], 0o644); err != nil {
				t.Fatal(err)
			}
			srv.Inject("onnx/model.onnx", tt.fault)
			var p counter
			if err := c.Download(context.Background(), snap, files, dir, &p); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(filepath.Join(dir, "onnx", "model.onnx"))
			if !bytes.Equal(got, content) {
				t.Error("file differs from the original")
			}
			if p.n.Load() != int64(len(content)) {
				t.Errorf("progress = %d, want %d", p.n.Load(), len(content))
			}
		})
	}
}

func TestDownloadPartLongerThanFile(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	c := testClient(srv)
	snap := resolve(t, c, "org/tiny")
	files, _ := hub.FilterFiles(snap.Files, []string{"README.md"})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "README.md.part"), bytes.Repeat([]byte("x"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Download(context.Background(), snap, files, dir, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(digests(map[string][]byte{"README.md": modelFiles()["README.md"]}), digests(tree(t, dir))); diff != "" {
		t.Errorf("tree mismatch (-want +got):\n%s", diff)
	}
}

func TestDownloadVerification(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		wantAlgo string
	}{
		{"LFS sha256", "model.safetensors", "sha256"},
		{"git blob sha1", "config.json", "git-sha1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.New(t, modelRepo())
			srv.Inject(tt.path, hubtest.Fault{Corrupt: true})
			c := testClient(srv)
			snap := resolve(t, c, "org/tiny")
			dir := t.TempDir()
			err := c.Download(context.Background(), snap, snap.Files, dir, nil)
			var ve *hub.VerifyError
			if !errors.As(err, &ve) || !errors.Is(err, hub.ErrVerify) {
				t.Fatalf("error = %v, want a *VerifyError", err)
			}
			content := modelFiles()[tt.path]
			want := hubtest.GitBlobID(content)
			if tt.wantAlgo == "sha256" {
				want = hubtest.SHA256(content)
			}
			if ve.Path != tt.path || ve.Algorithm != tt.wantAlgo || ve.Want != want || ve.Got == want || len(ve.Got) != len(want) {
				t.Errorf("VerifyError = %+v, want path %s, %s want %s", ve, tt.path, tt.wantAlgo, want)
			}
			for _, s := range []string{tt.path, want, ve.Got} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			// Neither the final file nor a part of the bad file is left;
			// the other files completed.
			got := tree(t, dir)
			for p := range got {
				if strings.HasPrefix(p, tt.path) {
					t.Errorf("%s left behind", p)
				}
			}
			if len(got) != len(modelFiles())-1 {
				t.Errorf("%d files downloaded, want %d", len(got), len(modelFiles())-1)
			}
		})
	}
}

func TestDownloadGated(t *testing.T) {
	srv := hubtest.New(t, hubtest.Repo{ID: "org/gated", Files: modelFiles(), LFS: isWeights, Gated: true, Token: "accepted"})
	tests := []struct {
		name    string
		token   string
		wantErr error
		want    []string
	}{
		{"not accepted", "other-account", hub.ErrGated, []string{"org/gated is gated", "accept its terms", "HF_TOKEN belongs to"}},
		{"accepted", "accepted", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClient(srv)
			c.Token = tt.token
			snap := resolve(t, c, "org/gated")
			err := c.Download(context.Background(), snap, snap.Files, t.TempDir(), nil)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if n := strings.Count(err.Error(), "is gated"); n != 1 {
				t.Errorf("the gated error is reported %d times, want once: %q", n, err)
			}
		})
	}
}

func TestTokenNotSentToCDN(t *testing.T) {
	srv := hubtest.New(t, hubtest.Repo{ID: "org/private", Files: modelFiles(), LFS: isWeights, Token: "secret"})

	// Go's own redirect policy forwards Authorization to the same host name
	// on another port, which is what the CDN is here; so this test can fail.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/org/private/resolve/main/model.safetensors", nil)
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(srv.Authorizations("cdn")) == 0 {
		t.Fatal("precondition: a plain http.Client did not forward the token; the CDN check below proves nothing")
	}
	srv.ResetRequests()

	c := testClient(srv)
	c.Token = "secret"
	snap := resolve(t, c, "org/private")
	if err := c.Download(context.Background(), snap, snap.Files, t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	if got := srv.Authorizations("cdn"); len(got) != 0 {
		t.Errorf("the CDN received Authorization headers: %q", got)
	}
	cdn := 0
	for _, r := range srv.Requests() {
		if r.Server == "cdn" {
			cdn++
		} else if r.Authorization != "Bearer secret" {
			t.Errorf("hub request %s lacked the token", r.Path)
		}
	}
	if cdn == 0 {
		t.Error("no request reached the CDN")
	}

	// A caller-supplied client with its own redirect policy keeps it, and
	// still does not leak the token.
	var redirects atomic.Int32
	c.HTTP = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		redirects.Add(1)
		return nil
	}}
	srv.ResetRequests()
	if err := c.Download(context.Background(), snap, snap.Files, t.TempDir(), nil); err != nil {
		t.Fatal(err)
	}
	if redirects.Load() != 2 {
		t.Errorf("caller's CheckRedirect ran %d times, want 2", redirects.Load())
	}
	if got := srv.Authorizations("cdn"); len(got) != 0 {
		t.Errorf("the CDN received Authorization headers with a custom client: %q", got)
	}
}

func TestDownloadRejectsUnsafePaths(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	c := testClient(srv)
	snap := resolve(t, c, "org/tiny")
	oid := hubtest.GitBlobID([]byte("x"))
	bad := []string{"../evil", "a/../../evil", "/tmp/evil", `a\b`, "a//b", "a/./b", "", "a\x00b", "a/", "."}
	for _, p := range bad {
		t.Run(fmt.Sprintf("%q", p), func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "stage")
			srv.ResetRequests()
			files := []hub.RepoFile{{Path: "config.json", Size: 1, GitOID: oid}, {Path: p, Size: 1, GitOID: oid}}
			err := c.Download(context.Background(), snap, files, dir, nil)
			if !errors.Is(err, hub.ErrUnsafePath) {
				t.Errorf("error = %v, want ErrUnsafePath", err)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests made before rejecting the listing", n)
			}
			if got := tree(t, parent); len(got) != 0 {
				t.Errorf("files written: %v", got)
			}
		})
	}
}

func TestDownloadStaysInsideDirWithSymlink(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	c := testClient(srv)
	snap := resolve(t, c, "org/tiny")
	files, _ := hub.FilterFiles(snap.Files, []string{"tokenizer/vocab.json"})
	outside := t.TempDir()
	dir := t.TempDir()
	// A symlink planted in the staging directory must not be followed out.
	if err := os.Symlink(outside, filepath.Join(dir, "tokenizer")); err != nil {
		t.Skip("symlinks not supported:", err)
	}
	if err := c.Download(context.Background(), snap, files, dir, nil); err == nil {
		t.Error("Download followed a symlink out of its directory")
	}
	if got := tree(t, outside); len(got) != 0 {
		t.Errorf("files written outside: %v", got)
	}
}

func TestDownloadEntryNotFound(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	c := testClient(srv)
	snap := resolve(t, c, "org/tiny")
	files := []hub.RepoFile{{Path: "missing.bin", Size: 1, GitOID: hubtest.GitBlobID([]byte("x"))}}
	err := c.Download(context.Background(), snap, files, t.TempDir(), nil)
	if !errors.Is(err, hub.ErrEntryNotFound) || !strings.Contains(err.Error(), "missing.bin") {
		t.Errorf("error = %v, want ErrEntryNotFound naming missing.bin", err)
	}
}

func TestDownloadCancel(t *testing.T) {
	files := map[string][]byte{
		"a.safetensors":     randomBytes(10, 200_000),
		"sub/b.safetensors": randomBytes(11, 200_000),
	}
	srv := hubtest.New(t, hubtest.Repo{ID: "org/big", Files: files, LFS: isWeights})
	for p := range files {
		srv.Inject(p, hubtest.Fault{Hang: true, After: 4096})
	}
	c := testClient(srv)
	snap := resolve(t, c, "org/big")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var p counter
	errc := make(chan error, 1)
	go func() { errc <- c.Download(ctx, snap, snap.Files, dir, &p) }()

	// Wait until both files are stuck mid-transfer.
	deadline := time.Now().Add(10 * time.Second)
	for p.n.Load() < 2*4096 {
		if time.Now().After(deadline) {
			t.Fatalf("transfers did not start; progress %d", p.n.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Download did not return within 5s of cancellation")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Download took %v to return after cancellation", d)
	}
	got := tree(t, dir)
	if len(got) != 2 {
		t.Errorf("files left: %v, want the two parts", slices.Collect(maps.Keys(got)))
	}
	for p, b := range got {
		if !strings.HasSuffix(p, ".part") {
			t.Errorf("%s left behind; want only .part files", p)
		}
		if len(b) != 4096 {
			t.Errorf("%s has %d bytes, want 4096", p, len(b))
		}
	}
}

func TestDownloadStallIsRetried(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	srv.Inject("config.json", hubtest.Fault{Times: 1, Hang: true, After: 3})
	c := testClient(srv)
	c.StallTimeout = 200 * time.Millisecond
	snap := resolve(t, c, "org/tiny")
	files, _ := hub.FilterFiles(snap.Files, []string{"config.json"})
	dir := t.TempDir()
	if err := c.Download(context.Background(), snap, files, dir, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !bytes.Equal(got, modelFiles()["config.json"]) {
		t.Error("file differs from the original")
	}
	var ranges []string
	for _, r := range contentRequests(srv) {
		ranges = append(ranges, r.Range)
	}
	if diff := cmp.Diff([]string{"", "bytes=3-"}, ranges); diff != "" {
		t.Errorf("Range headers mismatch (-want +got):\n%s", diff)
	}
}

func TestDownloadStalePart(t *testing.T) {
	tests := []struct {
		name       string
		corrupt    bool // the server keeps sending bad bytes
		wantRanges []string
	}{
		{"stale part is replaced", false, []string{"bytes=5000-", ""}},
		{"bad server still fails", true, []string{"bytes=5000-", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.New(t, modelRepo())
			if tt.corrupt {
				srv.Inject("model.safetensors", hubtest.Fault{Corrupt: true})
			}
			c := testClient(srv)
			snap := resolve(t, c, "org/tiny")
			files, _ := hub.FilterFiles(snap.Files, []string{"model.safetensors"})
			dir := t.TempDir()
			// 5000 bytes left by a download of some other version.
			if err := os.WriteFile(filepath.Join(dir, "model.safetensors.part"), make([]byte, 5000), 0o644); err != nil {
				t.Fatal(err)
			}
			var p counter
			err := c.Download(context.Background(), snap, files, dir, &p)
			var ranges []string
			for _, r := range srv.Requests() {
				if r.Server == "cdn" {
					ranges = append(ranges, r.Range)
				}
			}
			if diff := cmp.Diff(tt.wantRanges, ranges); diff != "" {
				t.Errorf("CDN Range headers mismatch (-want +got):\n%s", diff)
			}
			if tt.corrupt {
				if !errors.Is(err, hub.ErrVerify) {
					t.Errorf("error = %v, want ErrVerify", err)
				}
				if got := tree(t, dir); len(got) != 0 {
					t.Errorf("files left: %v", slices.Collect(maps.Keys(got)))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(digests(map[string][]byte{"model.safetensors": modelFiles()["model.safetensors"]}), digests(tree(t, dir))); diff != "" {
				t.Errorf("tree mismatch (-want +got):\n%s", diff)
			}
			if p.n.Load() != files[0].Size {
				t.Errorf("progress = %d, want %d", p.n.Load(), files[0].Size)
			}
		})
	}
}
