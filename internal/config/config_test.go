package config

import (
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := Load(env(map[string]string{"HOME": "/home/u"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Home != filepath.Join("/home/u", ".sov") {
		t.Errorf("default Home = %q", c.Home)
	}
	c, _ = Load(env(map[string]string{"SOV_HOME": "/data/sov", "HUGGING_FACE_HUB_TOKEN": "old"}))
	if c.Home != "/data/sov" || c.HFToken != "old" {
		t.Errorf("Home %q token %q", c.Home, c.HFToken)
	}
	c, _ = Load(env(map[string]string{"SOV_HOME": "/x", "HF_TOKEN": "new", "HUGGING_FACE_HUB_TOKEN": "old"}))
	if c.HFToken != "new" {
		t.Errorf("HF_TOKEN should win, got %q", c.HFToken)
	}
	if c.AsMap()["HF_TOKEN"] != "(set)" {
		t.Errorf("AsMap shows the token: %v", c.AsMap())
	}
}
