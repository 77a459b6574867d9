package hubtest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// Do not follow redirects: the test looks at each answer.
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestContentAnswers(t *testing.T) {
	s := New(t, Repo{
		ID:    "org/r",
		Files: map[string][]byte{"a.txt": []byte("0123456789"), "w.bin": []byte("weights")},
		LFS:   func(p string) bool { return p == "w.bin" },
	})
	tests := []struct {
		name       string
		path       string
		hdr        map[string]string
		wantStatus int
		wantBody   string
		wantHeader map[string]string
	}{
		{"whole", "/org/r/resolve/main/a.txt", nil, 200, "0123456789", map[string]string{"ETag": `"` + GitBlobID([]byte("0123456789")) + `"`}},
		{"open range", "/org/r/resolve/main/a.txt", map[string]string{"Range": "bytes=4-"}, 206, "456789", map[string]string{"Content-Range": "bytes 4-9/10"}},
		{"closed range", "/org/r/resolve/main/a.txt", map[string]string{"Range": "bytes=2-3"}, 206, "23", nil},
		{"range past end", "/org/r/resolve/main/a.txt", map[string]string{"Range": "bytes=10-"}, 416, "", map[string]string{"Content-Range": "bytes */10"}},
		{"lfs redirect", "/org/r/resolve/main/w.bin", nil, 302, "", map[string]string{"X-Linked-Size": "7", "X-Linked-Etag": `"` + SHA256([]byte("weights")) + `"`}},
		{"missing file", "/org/r/resolve/main/nope", nil, 404, "", map[string]string{"X-Error-Code": "EntryNotFound"}},
		{"missing revision", "/org/r/resolve/dev/a.txt", nil, 404, "", map[string]string{"X-Error-Code": "RevisionNotFound"}},
		{"missing repo", "/org/x/resolve/main/a.txt", nil, 401, "", map[string]string{"X-Error-Code": "RepoNotFound"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, s.URL+tt.path, tt.hdr)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	// The redirect leads to the CDN, which serves the content.
	resp, _ := get(t, s.URL+"/org/r/resolve/main/w.bin", nil)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, s.CDNURL+"/") {
		t.Fatalf("Location %q is not on the CDN %s", loc, s.CDNURL)
	}
	if _, body := get(t, loc, nil); body != "weights" {
		t.Errorf("CDN body = %q", body)
	}
}

func TestFaultsAreConsumed(t *testing.T) {
	s := New(t, Repo{ID: "org/r", Files: map[string][]byte{"a.txt": []byte("abc")}})
	s.Inject("a.txt", Fault{Times: 2, Status: 503})
	s.Inject("a.txt", Fault{Times: 1, Corrupt: true})
	var got []string
	for range 4 {
		resp, body := get(t, s.URL+"/org/r/resolve/main/a.txt", nil)
		got = append(got, resp.Status[:3]+":"+body)
	}
	want := []string{"503:", "503:", "200:a8c", "200:abc"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("answer %d = %q, want %q", i, got[i], want[i])
		}
	}
	if n := len(s.Requests()); n != 4 {
		t.Errorf("%d requests logged, want 4", n)
	}
}

func TestTreePagination(t *testing.T) {
	s := New(t, Repo{ID: "org/r", Files: map[string][]byte{"a": nil, "d/b": nil, "d/e/c": nil}})
	var paths []string
	next := s.URL + "/api/models/org/r/tree/main?recursive=true"
	for next != "" {
		resp, body := get(t, next, nil)
		var page []struct{ Path, Type string }
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 {
			t.Errorf("page of %d entries, want at most 2", len(page))
		}
		for _, e := range page {
			paths = append(paths, e.Type[:1]+":"+e.Path)
		}
		next = ""
		if l := resp.Header.Get("Link"); l != "" {
			next = strings.TrimSuffix(strings.TrimPrefix(l, "<"), `>; rel="next"`)
		}
	}
	want := "f:a d:d f:d/b d:d/e f:d/e/c"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("listing = %q, want %q", got, want)
	}
}
