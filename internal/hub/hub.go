// Package hub downloads model repositories from the Hugging Face Hub, or
// from a mirror that speaks the same HTTP API, into a local directory.
//
// Resolve turns a reference (org/name@revision) into a Snapshot: the commit
// the revision points to and the recursive file listing at that commit,
// with sizes and digests. Download fetches chosen files of a snapshot in
// parallel into a directory, resuming partial ".part" files with Range
// requests and verifying every file against the listing (size, LFS sha256,
// git blob sha1) before it takes its final name.
//
// It is the only part of sov that talks to the Hub, and it does so only when
// asked to: it must not phone home, cache credentials, follow a pagination
// link to another host, or send the token to any host but the endpoint's
// (a CDN that a download is redirected to never sees it). It must not write
// outside the download directory, whatever the listing says. It does not
// import files into the vault; the caller does that with the directory.
package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the Hub's address when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// Defaults used for zero Client fields.
const (
	DefaultParallel     = 4
	DefaultRetries      = 5
	DefaultRetryWait    = 500 * time.Millisecond
	DefaultStallTimeout = 60 * time.Second
	DefaultUserAgent    = "sov"
	maxRetryWait        = 30 * time.Second
	maxRedirects        = 10
)

// Client talks to one Hub endpoint. The zero value is not usable: set
// Endpoint, or use NewClientFromEnv. A Client is safe for concurrent use
// once its fields are set; do not change them while requests run.
type Client struct {
	// Endpoint is the Hub's base URL, e.g. "https://huggingface.co" or a
	// mirror's; a trailing '/' is ignored.
	Endpoint string
	// Token is sent as "Authorization: Bearer <Token>" to the endpoint's
	// host only. Empty means anonymous.
	Token string
	// HTTP is the client used for requests; nil means one with Go's default
	// transport (which honours HTTPS_PROXY). Its redirect policy is wrapped
	// so that the token never leaves the endpoint's host.
	HTTP *http.Client
	// UserAgent is sent with every request; empty means "sov".
	UserAgent string
	// Parallel bounds concurrent file downloads; 0 means 4.
	Parallel int
	// Retries bounds consecutive attempts without progress after a
	// transient failure (connection error, stall, 5xx, 429); 0 means 5,
	// negative means none.
	Retries int
	// RetryWait is the first wait between attempts; it doubles each time,
	// up to 30s. 0 means 500ms.
	RetryWait time.Duration
	// StallTimeout aborts (and retries) a request that receives nothing for
	// this long; 0 means 60s.
	StallTimeout time.Duration
	// Log receives debug and warning records; nil discards them.
	Log *slog.Logger
}

// NewClientFromEnv returns a Client configured from the environment the way
// the Hub's own tools are: HF_ENDPOINT (default https://huggingface.co,
// trailing '/' removed) and HF_TOKEN, or the legacy HUGGING_FACE_HUB_TOKEN.
// getenv is usually os.Getenv.
func NewClientFromEnv(getenv func(string) string) *Client {
	endpoint := strings.TrimRight(strings.TrimSpace(getenv("HF_ENDPOINT")), "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	token := strings.TrimSpace(getenv("HF_TOKEN"))
	if token == "" {
		token = strings.TrimSpace(getenv("HUGGING_FACE_HUB_TOKEN"))
	}
	return &Client{Endpoint: endpoint, Token: token}
}

// endpoint returns the validated base URL without a trailing '/'.
func (c *Client) endpoint() (string, *url.URL, error) {
	e := strings.TrimRight(c.Endpoint, "/")
	u, err := url.Parse(e)
	if err != nil {
		return "", nil, fmt.Errorf("hub: endpoint %q: %w", c.Endpoint, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", nil, fmt.Errorf("hub: endpoint %q: want http(s)://host[/path] with no query, fragment or user info", c.Endpoint)
	}
	return e, u, nil
}

func (c *Client) logger() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return DefaultRetries
	}
	return c.Retries
}

func (c *Client) stallTimeout() time.Duration {
	if c.StallTimeout > 0 {
		return c.StallTimeout
	}
	return DefaultStallTimeout
}

// httpClient returns a shallow copy of the configured client whose redirect
// policy drops the Authorization header as soon as a redirect leaves the
// origin (scheme, host and port) of the first request. Go's own policy
// keeps it for the same host name on another port and for subdomains,
// which is not good enough for a bearer token.
func (c *Client) httpClient() *http.Client {
	var hc http.Client
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	inner := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		left := !sameOrigin(via[0].URL, req.URL)
		for _, r := range via[1:] {
			left = left || !sameOrigin(via[0].URL, r.URL)
		}
		if left {
			req.Header.Del("Authorization")
		}
		if inner != nil {
			return inner(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &hc
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return u.Host + ":80"
	case "https":
		return u.Host + ":443"
	}
	return u.Host
}

// newRequest builds a GET request with the user agent and, for URLs on the
// endpoint's origin, the token.
func (c *Client) newRequest(ctx context.Context, rawURL string, base *url.URL) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	ua := c.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	if c.Token != "" && sameOrigin(base, req.URL) {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// errorContext names what a request was for, to build user-facing errors.
type errorContext struct {
	repo, revision, path string
	notFound             error // sentinel for a bare 404
}

// responseError turns a non-success response into an *APIError, marked
// retryable for 408, 429 and 5xx. It drains and closes the body.
func (c *Client) responseError(resp *http.Response, ec errorContext) error {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	hadToken := resp.Request != nil && resp.Request.Header.Get("Authorization") != ""
	code := sanitize(resp.Header.Get("X-Error-Code"))
	msg := sanitize(resp.Header.Get("X-Error-Message"))
	ep, _, _ := c.endpoint()
	e := &APIError{
		Status:   resp.StatusCode,
		Code:     code,
		Message:  msg,
		Repo:     ec.repo,
		Revision: ec.revision,
		Path:     ec.path,
		Endpoint: ep,
		HadToken: hadToken,
		kind:     classify(resp.StatusCode, code, msg, hadToken, ec.notFound),
	}
	if resp.Request != nil {
		u := *resp.Request.URL
		u.RawQuery, u.User = "", nil
		e.URL = u.String()
	}
	s := resp.StatusCode
	if s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s >= 500 {
		ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return &retryable{err: e, retryAfter: max(ra, 0)}
	}
	return e
}

// errStalled is the cancel cause of a request that received nothing for
// StallTimeout.
var errStalled = errors.New("connection stalled")

// watchdog cancels a request context when no progress is reported for the
// stall timeout.
type watchdog struct {
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelCauseFunc
}

func (c *Client) startWatchdog(ctx context.Context) (context.Context, *watchdog) {
	rctx, cancel := context.WithCancelCause(ctx)
	d := c.stallTimeout()
	w := &watchdog{d: d, cancel: cancel}
	w.timer = time.AfterFunc(d, func() { cancel(errStalled) })
	return rctx, w
}

func (w *watchdog) kick() { w.timer.Reset(w.d) }

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(context.Canceled)
}

// transportError classifies an error from Do or from reading a body. It is
// retryable unless the caller's own context is done.
func transportError(ctx, rctx context.Context, err error, what string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	// A *url.Error repeats the URL, which after a redirect is a CDN address
	// whose query holds a signature; what already names the request.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(context.Cause(rctx), errStalled) {
		return &retryable{err: fmt.Errorf("%s: %w", what, errStalled)}
	}
	return &retryable{err: fmt.Errorf("%s: %w", what, err)}
}

// retry runs attempt until it succeeds, fails permanently, or fails
// transiently more than Retries times in a row without progress. attempt
// reports whether it made progress (so that a download that keeps
// advancing is not cut short).
func (c *Client) retry(ctx context.Context, what string, attempt func() (progress bool, err error)) error {
	failures := 0
	for {
		progress, err := attempt()
		if err == nil {
			return nil
		}
		var r *retryable
		if !errors.As(err, &r) {
			return err
		}
		if progress {
			failures = 0
		}
		failures++
		if failures > c.retries() {
			return r.err
		}
		wait := c.backoff(failures, r.retryAfter)
		c.logger().Warn("hub: retrying", "what", what, "attempt", failures, "wait", wait, "err", r.err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) backoff(failures, retryAfter int) time.Duration {
	if retryAfter > 0 {
		return min(time.Duration(retryAfter)*time.Second, maxRetryWait)
	}
	base := c.RetryWait
	if base <= 0 {
		base = DefaultRetryWait
	}
	d := base << min(failures-1, 10)
	d = min(d, maxRetryWait)
	// Up to 25% jitter so that parallel downloads do not retry in step.
	return d - time.Duration(rand.Int64N(int64(d)/4+1))
}

// escapeSegment percent-encodes everything but unreserved characters, like
// Python's urllib.parse.quote(s, safe="").
func escapeSegment(s string) string {
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		}
	}
	return b.String()
}

// escapePath escapes each '/'-separated segment of a repository path.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = escapeSegment(s)
	}
	return strings.Join(segs, "/")
}
