package keys_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"sov.dev/sov/internal/keys"
)

func TestLoadServerSecretCreates(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home") // does not exist yet
	h1, err := keys.LoadServerSecret(home)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, keys.ServerSecretFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if len(strings.TrimSpace(string(b))) != 64 {
		t.Errorf("file holds %q, want 64 hex digits", b)
	}
	h2, err := keys.LoadServerSecret(home)
	if err != nil {
		t.Fatal(err)
	}
	if h1.Hex("sov-x") != h2.Hex("sov-x") {
		t.Errorf("the second load gives a different secret")
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 1 {
		t.Errorf("home holds %d entries after creating the secret, want 1 (no temp files)", len(entries))
	}
}

func TestLoadServerSecretRace(t *testing.T) {
	home := t.TempDir()
	const n = 8
	sums := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			h, err := keys.LoadServerSecret(home)
			errs[i] = err
			if err == nil {
				sums[i] = h.Hex("sov-x")
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("load %d: %v", i, errs[i])
		}
		if sums[i] != sums[0] {
			t.Errorf("load %d got another secret than load 0", i)
		}
	}
}

func TestLoadServerSecretRefuses(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    fs.FileMode
		perm    bool // want a *PermissionError
	}{
		{"short", "abcd\n", 0o600, false},
		{"not hex", strings.Repeat("zz", 32), 0o600, false},
		{"too long", strings.Repeat("ab", 33), 0o600, false},
		{"huge", strings.Repeat("ab", 10000), 0o600, false},
		{"empty", "", 0o600, false},
		{"readable by others", strings.Repeat("ab", 32), 0o644, true},
		{"writable by group", strings.Repeat("ab", 32), 0o620, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.perm && runtime.GOOS == "windows" {
				t.Skip("no permission bits on Windows")
			}
			home := t.TempDir()
			path := filepath.Join(home, keys.ServerSecretFile)
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tt.mode) // past the umask
			_, err := keys.LoadServerSecret(home)
			if err == nil {
				t.Fatal("LoadServerSecret succeeded")
			}
			var pe *keys.PermissionError
			if got := errors.As(err, &pe); got != tt.perm {
				t.Errorf("error %v: PermissionError = %v, want %v", err, got, tt.perm)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if tt.perm && !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("error %q does not say how to fix it", err)
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Errorf("the refused file was changed")
			}
		})
	}
	t.Run("a directory", func(t *testing.T) {
		home := t.TempDir()
		if err := os.Mkdir(filepath.Join(home, keys.ServerSecretFile), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.LoadServerSecret(home); err == nil {
			t.Fatal("LoadServerSecret succeeded on a directory")
		}
	})
}

func TestReadAdminKey(t *testing.T) {
	admin := "sovadm-" + strings.Repeat("A", 42) + "E"
	tests := []struct {
		name     string
		content  string // "" with write false: no file
		write    bool
		mode     fs.FileMode
		want     string
		notExist bool
	}{
		{"good", admin + "\n", true, 0o600, admin, false},
		{"no newline", admin, true, 0o600, admin, false},
		{"missing", "", false, 0, "", true},
		{"inference key", "sov-" + strings.Repeat("A", 42) + "E\n", true, 0o600, "", false},
		{"garbage", "hello\n", true, 0o600, "", false},
		{"readable by others", admin, true, 0o644, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.mode&0o077 != 0 && runtime.GOOS == "windows" {
				t.Skip("no permission bits on Windows")
			}
			home := t.TempDir()
			if tt.write {
				path := filepath.Join(home, keys.AdminKeyFile)
				if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
					t.Fatal(err)
				}
				os.Chmod(path, tt.mode)
			}
			got, err := keys.ReadAdminKey(home)
			if got != tt.want || (err == nil) != (tt.want != "") {
				t.Errorf("ReadAdminKey = %q, %v; want %q", got, err, tt.want)
			}
			if errors.Is(err, fs.ErrNotExist) != tt.notExist {
				t.Errorf("error %v: is fs.ErrNotExist = %v, want %v", err, !tt.notExist, tt.notExist)
			}
			if err != nil && strings.Contains(err.Error(), strings.Repeat("A", 20)) {
				t.Errorf("error %q reveals the file's content", err)
			}
		})
	}
}
