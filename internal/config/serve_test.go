package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestServeDocExample parses the example in docs/design/gateway.md, so the
// documented format cannot drift from the parser.
func TestServeDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/design/gateway.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	if !ok {
		t.Fatal("no yaml example in docs/design/gateway.md")
	}
	example, _, _ := strings.Cut(rest, "```")
	s, err := ParseServe([]byte(example))
	if err != nil {
		t.Fatalf("the documented example does not parse: %v", err)
	}
	if s.Addr != "0.0.0.0:8443" || s.Node.Jurisdiction != "eu" || len(s.Backends) != 1 {
		t.Fatalf("parsed %+v", s)
	}
	b := s.Backends[0]
	if len(b.URLs) != 2 || b.APIKeyEnv != "VLLM_KEY" || b.Jurisdiction != "eu" || *b.MaxRetries != 2 ||
		time.Duration(b.FirstByteTimeout) != 2*time.Minute || b.HealthPath != "/v1/models" {
		t.Errorf("backend %+v", b)
	}
	if int64(s.Engine.MemoryBudget) != 16<<30 || time.Duration(s.Engine.IdleTimeout) != 5*time.Minute {
		t.Errorf("engine %+v", s.Engine)
	}
	if len(s.Tenants) != 1 || s.Tenants[0].Name != "acme" || len(s.Tenants[0].Jurisdictions) != 2 {
		t.Errorf("tenants %+v", s.Tenants)
	}
	if int64(s.Limits.MaxBodyBytes) != 8<<20 {
		t.Errorf("limits %+v", s.Limits)
	}
}

func TestServeDefaults(t *testing.T) {
	s, err := LoadServe("")
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != DefaultAddr || s.Engine.Disabled || s.Engine.MaxQueue != 64 || int64(s.Limits.MaxBodyBytes) != 8<<20 ||
		time.Duration(s.Limits.ReadHeaderTimeout) != 10*time.Second {
		t.Errorf("defaults %+v", s)
	}
	s, err = ParseServe([]byte("backends:\n  - {name: a, url: 'http://h:1'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b := s.Backends[0]; len(b.URLs) != 1 || b.URLs[0] != "http://h:1" || *b.MaxRetries != 2 || b.BreakerFailures != 5 {
		t.Errorf("backend defaults %+v", b)
	}
}

func TestServeErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"adress: x", "field adress not found"},
		{"addr: nope", "addr"},
		{"tls: {cert: a}", "both cert and key"},
		{"node: {jurisdiction: EU}", "lower-case"},
		{"backends: [{name: x}]", "no url"},
		{"backends: [{name: Bad, url: 'http://h'}]", "lower-case name"},
		{"backends: [{name: local, url: 'http://h'}]", "used twice"},
		{"backends: [{name: a, url: 'http://h'}, {name: a, url: 'http://h'}]", "used twice"},
		{"backends: [{name: a, url: 'ftp://h'}]", "http(s)"},
		{"backends: [{name: a, url: 'http://h', api_key_env: A, api_key_file: f}]", "not both"},
		{"backends: [{name: a, url: 'http://h', max_retries: -1}]", "negative"},
		{"backends: [{name: a, url: 'http://h', timeout: soon}]", "duration"},
		{"engine: {memory_budget: lots}", "size"},
		{"engine: {threads: -1}", "negative"},
		{"tenants: [{name: t, jurisdictions: [E U]}]", "lower-case"},
		{"tenants: [{name: acme_eu}]", "lower-case label"}, // keys could never name it
		{"node: {jurisdiction: eu.west}", "node.jurisdiction"},
		{"log: {level: loud}", "log.level"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := ParseServe([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseServe(%q) = %v, want an error containing %q", tc.yaml, err, tc.want)
			}
		})
	}
}

func TestParseSizesAndDurations(t *testing.T) {
	for in, want := range map[string]int64{"1234": 1234, "64KiB": 64 << 10, "8MiB": 8 << 20, "2GiB": 2 << 30, "100MB": 100e6, "1 GiB": 1 << 30} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1XB", "9999999999TiB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", bad)
		}
	}
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "1d": 24 * time.Hour, "30d": 720 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1s", "xd", "5000d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
