package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// synthModelFile writes a tiny synthetic model with `sov dev synth-model`.
func synthModelFile(t *testing.T, e *env, arch, typ string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), arch+"-"+typ+".gguf")
	e.ok("dev", "synth-model", "--arch", arch, "--preset", "tiny", "--type", typ, "-o", out)
	return out
}

func TestRunOneShot(t *testing.T) {
	e := newEnv(t)
	e.ok("model", "import", synthModelFile(t, e, "qwen2", "Q8_0"), "--name", "tiny")
	args := []string{"run", "tiny", "Hello there", "--temperature", "0", "--max-tokens", "12"}
	first := e.ok(args...)
	if first == "" {
		t.Fatal("run printed nothing")
	}
	// Greedy decoding is reproducible, whatever the thread count.
	if again := e.ok(append(args, "--threads", "1")...); again != first {
		t.Errorf("greedy output changed with --threads 1:\n%q\n%q", first, again)
	}
	// A seed makes sampling reproducible.
	sampled := []string{"run", "tiny", "Hello", "--temperature", "1.2", "--seed", "7", "--max-tokens", "12"}
	if a, b := e.ok(sampled...), e.ok(sampled...); a != b {
		t.Errorf("same seed, different output:\n%q\n%q", a, b)
	}
	r := e.run(append(args, "--verbose")...)
	if r.code != 0 || !strings.Contains(r.stderr, "prompt:") || !strings.Contains(r.stderr, "generation: 12 tokens") {
		t.Errorf("--verbose: exit %d stderr %q", r.code, r.stderr)
	}
	if r := e.fails(1, "run", "tiny", "Hello", "--max-tokens", "100000"); !strings.Contains(r.stderr, "context") {
		t.Errorf("max tokens beyond the context: %q", r.stderr)
	}
	e.ok("run", "tiny", "Once upon a time", "--raw", "--temperature", "0", "--max-tokens", "5")
	e.fails(1, "run", "nope", "hi")
	e.fails(2, "run")
}

func TestRunEveryArchitecture(t *testing.T) {
	e := newEnv(t)
	for _, arch := range []string{"llama", "qwen2", "qwen3"} {
		for _, typ := range []string{"F16", "Q4_K_M"} {
			e.ok("model", "import", synthModelFile(t, e, arch, typ), "--name", arch+":"+strings.ToLower(typ))
			if out := e.ok("run", arch+":"+strings.ToLower(typ), "Hi", "--temperature", "0", "--max-tokens", "4"); out == "" {
				t.Errorf("%s %s: no output", arch, typ)
			}
		}
	}
}

func TestRunInteractiveChat(t *testing.T) {
	e := newEnv(t)
	e.ok("model", "import", synthModelFile(t, e, "llama", "Q8_0"), "--name", "chat")
	cmd := exec.Command(sovBinary, "run", "chat", "--temperature", "0", "--max-tokens", "6", "--verbose")
	cmd.Env = e.vars
	cmd.Stdin = strings.NewReader("Hello\nHow are you?\n/bye\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), ">>> "); n != 3 {
		t.Errorf("saw %d prompts, want 3:\n%s", n, out)
	}
	// The second turn reuses the first turn's cached tokens.
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if i := strings.Index(l, "prompt:"); i >= 0 {
			lines = append(lines, l[i:])
		}
	}
	if len(lines) != 2 || strings.Contains(lines[1], "(0 cached)") {
		t.Errorf("want two turns, the second reusing the cache; stats: %q\n%s", lines, out)
	}
}
