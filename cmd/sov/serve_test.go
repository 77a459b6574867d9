package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	_ "modernc.org/sqlite"
)

// server is a running `sov serve`.
type server struct {
	url  string
	cmd  *exec.Cmd
	done chan error
	logs *syncLog
}

// syncLog collects a server's stderr while tests read it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) add(line string) {
	l.mu.Lock()
	l.b.WriteString(line + "\n")
	l.mu.Unlock()
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe starts sov serve on a random loopback port and waits until it
// answers.
func (e *env) startServe(extraEnv []string, args ...string) *server {
	e.t.Helper()
	cmd := exec.Command(sovBinary, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append([]string{}, e.vars...), extraEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1), logs: &syncLog{}}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			s.logs.add(line)
			if rest, ok := strings.CutPrefix(line, "sov: serving on "); ok {
				urlc <- strings.Fields(rest)[0]
			}
		}
		s.done <- cmd.Wait()
	}()
	e.t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	select {
	case s.url = <-urlc:
	case err := <-s.done:
		e.t.Fatalf("sov serve exited: %v\n%s", err, s.logs)
	case <-time.After(30 * time.Second):
		e.t.Fatalf("sov serve did not start\n%s", s.logs)
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("sov serve exited with %v\n%s", err, s.logs)
		}
		s.done <- err // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatalf("sov serve did not stop on SIGTERM")
	}
}

func (e *env) createKey(args ...string) string {
	e.t.Helper()
	var out struct {
		Key string `json:"key"`
		ID  string `json:"id"`
	}
	e.json(&out, append([]string{"keys", "create"}, args...)...)
	if !strings.HasPrefix(out.Key, "sov-") {
		e.t.Fatalf("keys create: secret %q", out.Key)
	}
	return out.Key
}

func TestServeEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.ok("model", "import", synthModelFile(t, e, "qwen2", "Q8_0"), "--name", "tiny")
	srv := e.startServe(nil)

	// First start: an admin key only the owner can read.
	fi, err := os.Stat(filepath.Join(e.home, "admin.key"))
	if err != nil {
		t.Fatalf("no admin key written: %v\n%s", err, srv.logs)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.key mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(srv.logs.String(), "admin.key") {
		t.Errorf("serve did not say where the admin key is:\n%s", srv.logs)
	}

	// The CLI creates a key through the running server's admin API.
	secret := e.createKey("--name", "app", "--rpm", "1000")
	client := openai.NewClient(option.WithBaseURL(srv.url+"/v1"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	ctx := context.Background()

	// The synthetic model names no licence: the trust gate quarantined it
	// at import, and the gateway neither lists nor serves it.
	models, err := client.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(models.Data) != 0 {
		t.Errorf("quarantined model listed: %+v", models.Data)
	}
	code, out := post(t, srv.url+"/v1/chat/completions", secret, `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`)
	if code != http.StatusForbidden || !strings.Contains(out, "quarantined") {
		t.Errorf("quarantined model: %d %s", code, out)
	}
	e.ok("model", "approve", "tiny", "--reason", "synthetic test model")
	// The server learns of the decision within its refresh interval.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if models, err = client.Models.List(ctx); err != nil {
			t.Fatal(err)
		}
		if len(models.Data) == 1 || time.Now().After(deadline) {
			break
		}
	}
	if len(models.Data) != 1 || models.Data[0].ID != "tiny:latest" {
		t.Fatalf("models after approval = %+v", models.Data)
	}

	params := openai.ChatCompletionNewParams{
		Model:       "tiny",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello there")},
		Temperature: openai.Float(0),
		MaxTokens:   openai.Int(8),
	}
	resp, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Usage.CompletionTokens == 0 || resp.Usage.PromptTokens == 0 {
		t.Fatalf("chat completion: %+v", resp)
	}
	want := resp.Choices[0].Message.Content

	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != want {
		t.Errorf("greedy stream %q, non-stream %q", got, want)
	}
	if acc.Usage.TotalTokens != resp.Usage.TotalTokens {
		t.Errorf("stream usage %+v, non-stream %+v", acc.Usage, resp.Usage)
	}

	// Revocation through the CLI takes effect at once.
	e.ok("keys", "revoke", "app")
	_, err = client.Chat.Completions.New(ctx, params)
	var apiErr *openai.Error
	if !asError(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked key: %v", err)
	}

	// Keys are listed without secrets.
	list := e.ok("keys", "list", "--json")
	if strings.Contains(list, secret) || strings.Contains(list, secret[4:]) {
		t.Errorf("keys list shows a secret: %s", list)
	}

	srv.stop(t)

	// The audit log recorded the admin actions and the requests, and verifies.
	e.ok("audit", "verify")
	export := e.ok("audit", "export", "--since", "1h")
	var kinds []string
	for _, line := range strings.Split(strings.TrimSpace(export), "\n") {
		var ent struct {
			Kind string         `json:"kind"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &ent); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		kinds = append(kinds, ent.Kind)
		if ent.Kind == "inference" {
			if _, ok := ent.Data["request"]; ok {
				t.Errorf("prompt content logged without log_content: %v", ent.Data)
			}
		}
	}
	for _, k := range []string{"key.create", "serve.start", "inference", "key.revoke", "serve.stop"} {
		if !strings.Contains(strings.Join(kinds, " "), k) {
			t.Errorf("audit export lacks %s entries: %v", k, kinds)
		}
	}
	if strings.Contains(export, "Hello there") {
		t.Errorf("audit export holds prompt text")
	}

	// Any edit to the log is detected, located, and makes verify fail.
	db, err := sql.Open("sqlite", filepath.Join(e.home, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE entries SET actor = 'someone-else' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	r := e.fails(1, "audit", "verify")
	if !strings.Contains(r.stdout+r.stderr, "3") {
		t.Errorf("verify did not say where: %s %s", r.stdout, r.stderr)
	}
}

func asError(err error, target **openai.Error) bool {
	if err == nil {
		return false
	}
	e, ok := err.(*openai.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestServeChainedResidency puts one sov serve in front of another, as an
// upstream in another jurisdiction, and checks that a key restricted to
// the EU is never routed there.
func TestServeChainedResidency(t *testing.T) {
	up := newEnv(t)
	up.ok("model", "import", synthModelFile(t, up, "llama", "Q8_0"), "--name", "usmodel")
	up.ok("model", "approve", "usmodel", "--reason", "synthetic test model")
	upSrv := up.startServe(nil)
	upKey := up.createKey("--name", "gateway")

	e := newEnv(t)
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	writeFile(t, filepath.Dir(cfg), filepath.Base(cfg), []byte(fmt.Sprintf(`
node:
  jurisdiction: eu
backends:
  - name: us-east
    url: %s
    api_key_env: US_KEY
    models: [usmodel]
    jurisdiction: us
`, upSrv.url)))
	srv := e.startServe([]string{"US_KEY=" + upKey}, "--config", cfg)
	anywhere := e.createKey("--name", "anywhere")
	euOnly := e.createKey("--name", "eu-only", "--jurisdictions", "eu")

	body := `{"model":"usmodel","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"temperature":0,"stream":true}`
	code, out := post(t, srv.url+"/v1/chat/completions", anywhere, body)
	if code != 200 || !strings.Contains(out, "data: [DONE]") || strings.Contains(out, `"usage":{`) {
		t.Fatalf("through the chain: %d %s", code, out)
	}
	code, out = post(t, srv.url+"/v1/chat/completions", euOnly, body)
	if code != 403 || !strings.Contains(out, "residency") {
		t.Fatalf("EU-only key routed to the US: %d %s", code, out)
	}
	srv.stop(t)
	upSrv.stop(t)
	// The upstream answered exactly one request: the EU-only one never left.
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(up.ok("audit", "export", "--since", "1h")), "\n") {
		var ent struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(line), &ent); err != nil {
			t.Fatal(err)
		}
		if ent.Kind == "inference" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("upstream audit shows %d inference requests, want 1:\n%s", n, up.ok("audit", "export", "--since", "1h"))
	}
}

func post(t *testing.T, url, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("X-Request-Id") == "" {
		t.Errorf("no x-request-id on %s", url)
	}
	return resp.StatusCode, string(b)
}

// TestServeTLS serves over TLS with a certificate from the config file.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	writeFile(t, dir, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	cfg := writeFile(t, dir, "serve.yaml", []byte(fmt.Sprintf("tls: {cert: %s, key: %s}\n", filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))))

	e := newEnv(t)
	srv := e.startServe(nil, "--config", cfg)
	if !strings.HasPrefix(srv.url, "https://") {
		t.Fatalf("serving on %s, want https", srv.url)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(srv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz over TLS: %s", resp.Status)
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := http.Get("http://" + strings.TrimPrefix(srv.url, "https://") + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered on the TLS port")
		}
	}
	srv.stop(t)
}
