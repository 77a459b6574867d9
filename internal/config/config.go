// Package config holds every sov setting in one place: its name, where it
// comes from (flag > SOV_* environment variable > default) and how it is
// validated. Commands read settings through a Config; nothing else reads
// the environment.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Config is the resolved configuration of one sov invocation.
type Config struct {
	// Home is the directory that holds everything sov stores (SOV_HOME,
	// default ~/.sov).
	Home string
	// HFEndpoint and HFToken configure Hugging Face Hub pulls (HF_ENDPOINT,
	// HF_TOKEN or HUGGING_FACE_HUB_TOKEN). They are read only by pull.
	HFEndpoint string
	HFToken    string
	// Server and AdminKey point `sov keys` at a running server's admin API
	// (SOV_SERVER, SOV_ADMIN_KEY). Empty: the server for Home, if running,
	// with the admin key in Home.
	Server   string
	AdminKey string
}

// Setting documents one setting.
type Setting struct {
	Env, Default, Help string
}

// Settings lists every setting sov reads from the environment.
var Settings = []Setting{
	{"SOV_HOME", "~/.sov", "directory holding the vault (blobs, metadata database) and all other state"},
	{"HF_ENDPOINT", "https://huggingface.co", "Hugging Face Hub endpoint or mirror used by `sov model pull`"},
	{"HF_TOKEN", "", "Hugging Face access token for gated or private repositories (also HUGGING_FACE_HUB_TOKEN)"},
	{"SOV_SERVER", "", "URL of the sov serve whose admin API `sov keys` uses (default: the one running for SOV_HOME)"},
	{"SOV_ADMIN_KEY", "", "admin key for SOV_SERVER (default: SOV_HOME/admin.key)"},
}

// Load resolves the configuration from the environment.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{
		Home:       getenv("SOV_HOME"),
		HFEndpoint: getenv("HF_ENDPOINT"),
		HFToken:    getenv("HF_TOKEN"),
		Server:     getenv("SOV_SERVER"),
		AdminKey:   getenv("SOV_ADMIN_KEY"),
	}
	if c.HFToken == "" {
		c.HFToken = getenv("HUGGING_FACE_HUB_TOKEN")
	}
	if c.Home == "" {
		home := getenv("HOME")
		if home == "" {
			var err error
			if home, err = os.UserHomeDir(); err != nil {
				return nil, errors.New("cannot find a home directory: set SOV_HOME")
			}
		}
		c.Home = filepath.Join(home, ".sov")
	}
	abs, err := filepath.Abs(c.Home)
	if err != nil {
		return nil, fmt.Errorf("SOV_HOME: %w", err)
	}
	c.Home = abs
	return c, nil
}

// AsMap returns the settings as name → value, for `sov env`-style output.
// Secrets are masked.
func (c *Config) AsMap() map[string]string {
	mask := func(s string) string {
		if s != "" {
			return "(set)"
		}
		return ""
	}
	return map[string]string{"SOV_HOME": c.Home, "HF_ENDPOINT": c.HFEndpoint, "HF_TOKEN": mask(c.HFToken),
		"SOV_SERVER": c.Server, "SOV_ADMIN_KEY": mask(c.AdminKey)}
}
