package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"sov.dev/sov/internal/keys"
)

// Serve is the configuration of `sov serve`, read from the file named by
// --config (YAML). Every field is optional: the zero Serve (no file) serves
// the vault's models on the embedded engine at DefaultAddr. The format is
// documented in docs/design/gateway.md.
type Serve struct {
	// Addr is the listen address (the --addr flag wins).
	Addr string `yaml:"addr"`
	TLS  struct {
		Cert string `yaml:"cert"`
		Key  string `yaml:"key"`
	} `yaml:"tls"`
	// Node labels the embedded engine (and this server) for residency.
	Node struct {
		Site         string `yaml:"site"`
		Jurisdiction string `yaml:"jurisdiction"`
	} `yaml:"node"`
	Engine   EngineConfig    `yaml:"engine"`
	Backends []BackendConfig `yaml:"backends"`
	Tenants  []TenantConfig  `yaml:"tenants"`
	Audit    struct {
		// LogContent records prompts and outputs in the audit log. Off by
		// default: the log then holds who, when, which model and how much,
		// never what was said.
		LogContent bool `yaml:"log_content"`
		// CheckpointInterval is how often the log is signed (default 1m).
		CheckpointInterval Duration `yaml:"checkpoint_interval"`
	} `yaml:"audit"`
	Limits LimitsConfig `yaml:"limits"`
	CORS   struct {
		// AllowedOrigins enables CORS for these origins ("*" for any). Off
		// when empty.
		AllowedOrigins []string `yaml:"allowed_origins"`
	} `yaml:"cors"`
	Log struct {
		Level  string `yaml:"level"`  // debug, info (default), warn, error
		Format string `yaml:"format"` // text (default) or json
	} `yaml:"log"`
}

// DefaultAddr is where sov serve listens without --addr or a config file.
const DefaultAddr = "127.0.0.1:8080"

// EngineConfig configures the embedded engine backend.
type EngineConfig struct {
	Disabled      bool     `yaml:"disabled"`
	Threads       int      `yaml:"threads"`        // 0: physical cores
	ContextLength int      `yaml:"context_length"` // 0: the model's, up to 4096
	MemoryBudget  ByteSize `yaml:"memory_budget"`  // weights + KV caches loaded at once; 0: half of RAM
	IdleTimeout   Duration `yaml:"idle_timeout"`   // unload a model unused this long (default 5m)
	MaxQueue      int      `yaml:"max_queue"`      // queued requests per model before 503 (default 64)
	Sessions      int      `yaml:"sessions"`       // concurrent generations per model (default 1)
}

// BackendConfig declares an OpenAI-compatible server the owner runs
// (llama-server, vLLM, Ollama, TGI, another sov serve).
type BackendConfig struct {
	Name string `yaml:"name"`
	// URLs are the replicas' base URLs (http://host:port or …/v1).
	URLs []string `yaml:"urls"`
	// URL is shorthand for a single replica.
	URL string `yaml:"url"`
	// The credential sent upstream, from an environment variable or a file
	// (never written in the config itself).
	APIKeyEnv  string `yaml:"api_key_env"`
	APIKeyFile string `yaml:"api_key_file"`
	// Models it serves; empty means discover them from GET /v1/models.
	Models       []string `yaml:"models"`
	Site         string   `yaml:"site"`
	Jurisdiction string   `yaml:"jurisdiction"`

	Timeout          Duration `yaml:"timeout"`            // a whole non-streamed request (default 10m)
	ConnectTimeout   Duration `yaml:"connect_timeout"`    // default 5s
	FirstByteTimeout Duration `yaml:"first_byte_timeout"` // until the answer starts (default 2m)
	IdleTimeout      Duration `yaml:"idle_timeout"`       // between streamed events (default 2m)
	MaxRetries       *int     `yaml:"max_retries"`        // other replicas tried after a failure (default 2)
	HealthInterval   Duration `yaml:"health_interval"`    // default 10s
	HealthPath       string   `yaml:"health_path"`        // default /v1/models
	BreakerFailures  int      `yaml:"breaker_failures"`   // consecutive failures that open the breaker (default 5)
	BreakerCooldown  Duration `yaml:"breaker_cooldown"`   // before a trial request (default 30s)
}

// TenantConfig restricts every key of a tenant.
type TenantConfig struct {
	Name string `yaml:"name"`
	// Jurisdictions the tenant's requests may be processed in (empty: any).
	Jurisdictions []string `yaml:"jurisdictions"`
}

// LimitsConfig hardens the HTTP server.
type LimitsConfig struct {
	MaxBodyBytes      ByteSize `yaml:"max_body_bytes"`      // default 8 MiB
	MaxHeaderBytes    ByteSize `yaml:"max_header_bytes"`    // default 64 KiB
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"` // default 10s
	ReadTimeout       Duration `yaml:"read_timeout"`        // whole request body (default 60s)
	IdleTimeout       Duration `yaml:"idle_timeout"`        // keep-alive (default 120s)
	RequestTimeout    Duration `yaml:"request_timeout"`     // one inference request end to end (default 10m)
	ShutdownTimeout   Duration `yaml:"shutdown_timeout"`    // draining in-flight requests (default 30s)
}

// LoadServe reads and validates a serve configuration file. An empty path
// returns the defaults.
func LoadServe(path string) (*Serve, error) {
	s := &Serve{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if s, err = ParseServe(data); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	s.applyDefaults()
	return s, nil
}

// ParseServe decodes and validates a serve configuration (YAML; unknown
// fields are errors, so that a typo does not silently do nothing).
func ParseServe(data []byte) (*Serve, error) {
	s := &Serve{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(s); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	s.applyDefaults()
	return s, nil
}

var labelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// ValidLabel reports whether s is a valid backend name: lower-case
// letters, digits, '.', '_' and '-', up to 63 characters. Tenants and
// jurisdictions follow keys.ValidateLabel, the rule keys are held to, so
// that every label a key can name can appear in the config and back.
func ValidLabel(s string) bool { return labelRE.MatchString(s) }

func (s *Serve) validate() error {
	if s.Addr != "" {
		if _, _, err := net.SplitHostPort(s.Addr); err != nil {
			return fmt.Errorf("addr: %w", err)
		}
	}
	if (s.TLS.Cert == "") != (s.TLS.Key == "") {
		return errors.New("tls: give both cert and key")
	}
	if s.Node.Jurisdiction != "" && keys.ValidateLabel(s.Node.Jurisdiction) != nil {
		return fmt.Errorf("node.jurisdiction %q: use a lower-case label such as eu or de", s.Node.Jurisdiction)
	}
	if s.Engine.Threads < 0 || s.Engine.ContextLength < 0 || s.Engine.MaxQueue < 0 || s.Engine.Sessions < 0 {
		return errors.New("engine: threads, context_length, max_queue and sessions cannot be negative")
	}
	names := map[string]bool{"local": true}
	for i, b := range s.Backends {
		where := fmt.Sprintf("backends[%d]", i)
		if !ValidLabel(b.Name) {
			return fmt.Errorf("%s.name %q: give each backend a lower-case name (letters, digits, . _ -)", where, b.Name)
		}
		if names[b.Name] {
			return fmt.Errorf("%s.name %q: used twice (\"local\" is the embedded engine)", where, b.Name)
		}
		names[b.Name] = true
		urls := b.URLs
		if b.URL != "" {
			urls = append([]string{b.URL}, urls...)
		}
		if len(urls) == 0 {
			return fmt.Errorf("%s (%s): no url", where, b.Name)
		}
		for _, u := range urls {
			p, err := url.Parse(u)
			if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				return fmt.Errorf("%s (%s): url %q: want http(s)://host[:port][/v1]", where, b.Name, u)
			}
		}
		if b.APIKeyEnv != "" && b.APIKeyFile != "" {
			return fmt.Errorf("%s (%s): give api_key_env or api_key_file, not both", where, b.Name)
		}
		if b.Jurisdiction != "" && keys.ValidateLabel(b.Jurisdiction) != nil {
			return fmt.Errorf("%s (%s): jurisdiction %q: use a lower-case label such as eu or us", where, b.Name, b.Jurisdiction)
		}
		if b.MaxRetries != nil && *b.MaxRetries < 0 {
			return fmt.Errorf("%s (%s): max_retries cannot be negative", where, b.Name)
		}
		for j, m := range b.Models {
			if strings.TrimSpace(m) == "" {
				return fmt.Errorf("%s (%s): models[%d] is empty", where, b.Name, j)
			}
		}
	}
	tenants := map[string]bool{}
	for i, t := range s.Tenants {
		if keys.ValidateLabel(t.Name) != nil {
			return fmt.Errorf("tenants[%d].name %q: use a lower-case label", i, t.Name)
		}
		if tenants[t.Name] {
			return fmt.Errorf("tenants[%d].name %q: used twice", i, t.Name)
		}
		tenants[t.Name] = true
		for _, j := range t.Jurisdictions {
			if keys.ValidateLabel(j) != nil {
				return fmt.Errorf("tenant %s: jurisdiction %q: use a lower-case label such as eu", t.Name, j)
			}
		}
	}
	switch s.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: want debug, info, warn or error", s.Log.Level)
	}
	switch s.Log.Format {
	case "", "text", "json":
	default:
		return fmt.Errorf("log.format %q: want text or json", s.Log.Format)
	}
	return nil
}

func (s *Serve) applyDefaults() {
	def := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	defB := func(b *ByteSize, v int64) {
		if *b == 0 {
			*b = ByteSize(v)
		}
	}
	if s.Addr == "" {
		s.Addr = DefaultAddr
	}
	def(&s.Engine.IdleTimeout, 5*time.Minute)
	if s.Engine.MaxQueue == 0 {
		s.Engine.MaxQueue = 64
	}
	if s.Engine.Sessions == 0 {
		s.Engine.Sessions = 1
	}
	def(&s.Audit.CheckpointInterval, time.Minute)
	defB(&s.Limits.MaxBodyBytes, 8<<20)
	defB(&s.Limits.MaxHeaderBytes, 64<<10)
	def(&s.Limits.ReadHeaderTimeout, 10*time.Second)
	def(&s.Limits.ReadTimeout, time.Minute)
	def(&s.Limits.IdleTimeout, 2*time.Minute)
	def(&s.Limits.RequestTimeout, 10*time.Minute)
	def(&s.Limits.ShutdownTimeout, 30*time.Second)
	for i := range s.Backends {
		b := &s.Backends[i]
		if b.URL != "" {
			b.URLs = append([]string{b.URL}, b.URLs...)
			b.URL = ""
		}
		def(&b.Timeout, 10*time.Minute)
		def(&b.ConnectTimeout, 5*time.Second)
		def(&b.FirstByteTimeout, 2*time.Minute)
		def(&b.IdleTimeout, 2*time.Minute)
		if b.MaxRetries == nil {
			n := 2
			b.MaxRetries = &n
		}
		def(&b.HealthInterval, 10*time.Second)
		if b.HealthPath == "" {
			b.HealthPath = "/v1/models"
		}
		if b.BreakerFailures == 0 {
			b.BreakerFailures = 5
		}
		def(&b.BreakerCooldown, 30*time.Second)
	}
}

// APIKey resolves the backend's credential from its environment variable
// or file (trailing newline removed). No credential is not an error.
func (b *BackendConfig) APIKey(getenv func(string) string) (string, error) {
	switch {
	case b.APIKeyEnv != "":
		v := getenv(b.APIKeyEnv)
		if v == "" {
			return "", fmt.Errorf("backend %s: environment variable %s is not set", b.Name, b.APIKeyEnv)
		}
		return v, nil
	case b.APIKeyFile != "":
		data, err := os.ReadFile(b.APIKeyFile)
		if err != nil {
			return "", fmt.Errorf("backend %s: %w", b.Name, err)
		}
		return strings.TrimSpace(string(data)), nil
	}
	return "", nil
}

// Duration is a time.Duration written as "30s", "5m", "1h" or "1d"/"30d".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses a Go duration, also accepting whole days ("1d",
// "30d").
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, fmt.Errorf("duration %q: want e.g. 30s, 5m, 1h or 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("duration %q: want e.g. 30s, 5m, 1h or 30d", s)
	}
	return v, nil
}

// ByteSize is a size written as a number of bytes or with a unit: "512MiB",
// "8GiB", "100MB".
type ByteSize int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = ByteSize(v)
	return nil
}

// ParseByteSize parses "1234", "64KiB", "512MiB", "8GiB", "1TiB" or the
// decimal KB/MB/GB/TB.
func ParseByteSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(v), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want e.g. 8MiB or 16GiB", s)
	}
	return n * mult, nil
}
