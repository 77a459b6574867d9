package hub_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/hub"
	"sov.dev/sov/internal/hub/hubtest"
)

const commit = "0123456789abcdef0123456789abcdef01234567"

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	b := make([]byte, n)
	r.Read(b)
	return b
}

// modelFiles is a small repository: a few git files, LFS weights, nested
// directories and an empty file.
func modelFiles() map[string][]byte {
	return map[string][]byte{
		".gitattributes":          []byte("*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
		"README.md":               []byte("# tiny model\n"),
		"config.json":             []byte(`{"hidden_size": 8}`),
		"empty.txt":               {},
		"model.safetensors":       randomBytes(1, 700_000),
		"onnx/model.onnx":         randomBytes(2, 300_000),
		"tokenizer/vocab.json":    []byte(`{"a": 0, "b": 1}`),
		"tokenizer/nested/x.json": randomBytes(3, 5000),
	}
}

func isWeights(p string) bool {
	return strings.HasSuffix(p, ".safetensors") || strings.HasSuffix(p, ".onnx")
}

func modelRepo() hubtest.Repo {
	return hubtest.Repo{
		ID:     "org/tiny",
		Commit: commit,
		Revisions: map[string]string{
			"main":      commit,
			"v1.0":      commit,
			"refs/pr/1": commit,
		},
		Files: modelFiles(),
		LFS:   isWeights,
	}
}

// wantListing computes the listing Resolve should return for files,
// independently of the server's own code.
func wantListing(files map[string][]byte, lfs func(string) bool) []hub.RepoFile {
	var out []hub.RepoFile
	for p, c := range files {
		f := hub.RepoFile{Path: p, Size: int64(len(c)), GitOID: hubtest.GitBlobID(c)}
		if lfs != nil && lfs(p) {
			f.GitOID = hubtest.GitBlobID(hubtest.LFSPointer(c))
			f.LFS = &hub.LFSInfo{SHA256: hubtest.SHA256(c), Size: int64(len(c))}
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b hub.RepoFile) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func testClient(srv *hubtest.Server) *hub.Client {
	return &hub.Client{
		Endpoint:     srv.URL,
		RetryWait:    time.Millisecond,
		StallTimeout: 10 * time.Second,
	}
}

func TestResolveRevisions(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	want := wantListing(modelFiles(), isWeights)
	tests := []struct {
		ref      string
		wantPath string // escaped request path of the revision call
	}{
		{"hf://org/tiny", "/api/models/org/tiny/revision/main"},
		{"org/tiny@main", "/api/models/org/tiny/revision/main"},
		{"hf://org/tiny@v1.0", "/api/models/org/tiny/revision/v1.0"},
		{"hf://org/tiny@" + commit, "/api/models/org/tiny/revision/" + commit},
		{"hf://org/tiny@refs/pr/1", "/api/models/org/tiny/revision/refs%2Fpr%2F1"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			srv.ResetRequests()
			ref, err := hub.ParseRef(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := testClient(srv).Resolve(context.Background(), ref)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Commit != commit {
				t.Errorf("Commit = %q, want %q", snap.Commit, commit)
			}
			if snap.Repo != "org/tiny" || snap.Revision != ref.Revision {
				t.Errorf("Repo, Revision = %q, %q; want org/tiny, %q", snap.Repo, snap.Revision, ref.Revision)
			}
			if diff := cmp.Diff(want, snap.Files); diff != "" {
				t.Errorf("Files mismatch (-want +got):\n%s", diff)
			}
			reqs := srv.Requests()
			if len(reqs) == 0 || reqs[0].Path != tt.wantPath {
				t.Errorf("first request = %+v, want path %s", reqs, tt.wantPath)
			}
			for _, r := range reqs[1:] {
				if !strings.HasPrefix(r.Path, "/api/models/org/tiny/tree/"+commit) {
					t.Errorf("tree request %s does not list by commit", r.Path)
				}
			}
		})
	}
}

func TestResolvePagination(t *testing.T) {
	// The listing has 8 files and 3 directories (onnx, tokenizer,
	// tokenizer/nested): 11 entries in all.
	tests := []struct {
		pageSize  int
		wantPages int
	}{
		{1, 11},
		{2, 6},
		{5, 3},
		{11, 1},
		{1000, 1},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			srv := hubtest.New(t, modelRepo())
			srv.SetPageSize(tt.pageSize)
			snap, err := testClient(srv).Resolve(context.Background(), hub.Ref{Repo: "org/tiny"})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(snap.Files), len(modelFiles()); got != want {
				t.Errorf("got %d files, want %d", got, want)
			}
			pages := 0
			for _, r := range srv.Requests() {
				if strings.Contains(r.Path, "/tree/") {
					pages++
				}
			}
			if pages != tt.wantPages {
				t.Errorf("page size %d: %d tree requests, want %d", tt.pageSize, pages, tt.wantPages)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	srv := hubtest.New(t,
		modelRepo(),
		hubtest.Repo{ID: "org/private", Files: modelFiles(), Token: "secret"},
		hubtest.Repo{ID: "org/gated", Files: modelFiles(), LFS: isWeights, Gated: true, Token: "accepted"},
	)
	tests := []struct {
		name     string
		ref      hub.Ref
		token    string
		wantErr  error
		wantText []string
	}{
		{"unknown repo", hub.Ref{Repo: "org/nope"}, "", hub.ErrRepoNotFound, []string{"org/nope not found", "HF_TOKEN"}},
		{"unknown repo with token", hub.Ref{Repo: "org/nope"}, "x", hub.ErrRepoNotFound, []string{"org/nope not found", "does not grant access"}},
		{"unknown revision", hub.Ref{Repo: "org/tiny", Revision: "dev"}, "", hub.ErrRevisionNotFound, []string{`revision "dev" not found`}},
		{"private without token", hub.Ref{Repo: "org/private"}, "", hub.ErrRepoNotFound, []string{"HF_TOKEN"}},
		{"private wrong token", hub.Ref{Repo: "org/private"}, "wrong", hub.ErrRepoNotFound, nil},
		{"private with token", hub.Ref{Repo: "org/private"}, "secret", nil, nil},
		{"gated without token", hub.Ref{Repo: "org/gated"}, "", hub.ErrGated, []string{"gated", "accept its terms", "HF_TOKEN"}},
		{"gated with token", hub.Ref{Repo: "org/gated"}, "accepted", nil, nil},
		{"bad repo id", hub.Ref{Repo: "../x"}, "", nil, []string{"repository id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClient(srv)
			c.Token = tt.token
			_, err := c.Resolve(context.Background(), tt.ref)
			if tt.wantErr == nil && tt.wantText == nil {
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Resolve succeeded, want error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if tt.token != "" && strings.Contains(err.Error(), tt.token) {
				t.Errorf("error %q reveals the token", err)
			}
		})
	}
}

func TestResolveRetries(t *testing.T) {
	tests := []struct {
		name       string
		fault      hubtest.Fault
		retries    int
		wantOK     bool
		wantStatus int
	}{
		{"two 500s", hubtest.Fault{Times: 2, Status: 500}, 3, true, 0},
		{"429 with Retry-After 0", hubtest.Fault{Times: 1, Status: 429, RetryAfter: "0"}, 3, true, 0},
		{"persistent 503", hubtest.Fault{Status: 503}, 2, false, 503},
		{"no retries", hubtest.Fault{Times: 1, Status: 502}, -1, false, 502},
		{"404 is not retried", hubtest.Fault{Times: 1, Status: 404}, 3, false, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.New(t, modelRepo())
			srv.Inject("", tt.fault)
			c := testClient(srv)
			c.Retries = tt.retries
			_, err := c.Resolve(context.Background(), hub.Ref{Repo: "org/tiny"})
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Resolve: %v", err)
				}
				return
			}
			var apiErr *hub.APIError
			if !errors.As(err, &apiErr) || apiErr.Status != tt.wantStatus {
				t.Fatalf("error = %v, want an *APIError with status %d", err, tt.wantStatus)
			}
			attempts := len(srv.Requests())
			wantAttempts := max(tt.retries, 0) + 1
			if tt.wantStatus == 404 {
				wantAttempts = 1
			}
			if attempts != wantAttempts {
				t.Errorf("%d requests, want %d", attempts, wantAttempts)
			}
		})
	}
}

func TestResolveCancelledDuringBackoff(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	srv.Inject("", hubtest.Fault{Status: 500})
	c := testClient(srv)
	c.RetryWait = time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Resolve(ctx, hub.Ref{Repo: "org/tiny"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Resolve took %v after cancellation", d)
	}
}

func TestResolveRejectsHostileListing(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{"parent", map[string][]byte{"../evil": []byte("x"), "ok": nil}},
		{"nested parent", map[string][]byte{"a/../../evil": []byte("x")}},
		{"absolute", map[string][]byte{"/etc/evil": []byte("x")}},
		{"backslash", map[string][]byte{`..\evil`: []byte("x")}},
		{"dot segment", map[string][]byte{"a/./b": []byte("x")}},
		{"NUL", map[string][]byte{"a\x00b": []byte("x")}},
		{"file and directory", map[string][]byte{"a": []byte("x"), "a/b": []byte("y")}},
		{"part collision", map[string][]byte{"w.bin": []byte("x"), "w.bin.part": []byte("y")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := hubtest.New(t, hubtest.Repo{ID: "evil/repo", Files: tt.files})
			_, err := testClient(srv).Resolve(context.Background(), hub.Ref{Repo: "evil/repo"})
			if !errors.Is(err, hub.ErrUnsafePath) {
				t.Errorf("error = %v, want ErrUnsafePath", err)
			}
		})
	}
}

func TestNewClientFromEnv(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantEndpoint string
		wantToken    string
	}{
		{"defaults", nil, "https://huggingface.co", ""},
		{"endpoint trailing slashes", map[string]string{"HF_ENDPOINT": "https://mirror.example/hf//"}, "https://mirror.example/hf", ""},
		{"token", map[string]string{"HF_TOKEN": " hf_abc\n"}, "https://huggingface.co", "hf_abc"},
		{"legacy token", map[string]string{"HUGGING_FACE_HUB_TOKEN": "hf_old"}, "https://huggingface.co", "hf_old"},
		{"HF_TOKEN wins", map[string]string{"HF_TOKEN": "new", "HUGGING_FACE_HUB_TOKEN": "old"}, "https://huggingface.co", "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := hub.NewClientFromEnv(func(k string) string { return tt.env[k] })
			if c.Endpoint != tt.wantEndpoint || c.Token != tt.wantToken {
				t.Errorf("Endpoint, Token = %q, %q; want %q, %q", c.Endpoint, c.Token, tt.wantEndpoint, tt.wantToken)
			}
		})
	}
}

func TestHFEndpointHonoured(t *testing.T) {
	srv := hubtest.New(t, hubtest.Repo{ID: "org/private", Files: modelFiles(), LFS: isWeights, Token: "tok"})
	env := map[string]string{"HF_ENDPOINT": srv.URL + "/", "HF_TOKEN": "tok"}
	c := hub.NewClientFromEnv(func(k string) string { return env[k] })
	snap, err := c.Resolve(context.Background(), hub.Ref{Repo: "org/private"})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Files) != len(modelFiles()) {
		t.Errorf("got %d files, want %d", len(snap.Files), len(modelFiles()))
	}
	reqs := srv.Requests()
	if len(reqs) == 0 {
		t.Fatal("the server saw no request")
	}
	for _, r := range reqs {
		if strings.HasPrefix(r.Path, "//") {
			t.Errorf("request path %q: trailing '/' of HF_ENDPOINT was kept", r.Path)
		}
		if r.Authorization != "Bearer tok" {
			t.Errorf("request %s carried Authorization %q, want the token", r.Path, r.Authorization)
		}
	}
}

// TestAPIErrorText checks the user-facing wording for answers the Hub
// gives, with and without X-Error-Code.
func TestAPIErrorText(t *testing.T) {
	srv := hubtest.New(t, modelRepo())
	tests := []struct {
		status int
		want   string
	}{
		{http.StatusTooManyRequests, "rate limited"},
		{http.StatusInternalServerError, "server error"},
		{http.StatusForbidden, "denied"},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv.Inject("", hubtest.Fault{Times: 1, Status: tt.status})
			c := testClient(srv)
			c.Retries = -1
			_, err := c.Resolve(context.Background(), hub.Ref{Repo: "org/tiny"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}
