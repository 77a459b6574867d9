package keys_test

import (
	"testing"
	"time"

	"sov.dev/sov/internal/keys"
)

// FuzzAuthenticate feeds arbitrary header values to a Cache holding two
// keys: it never panics and accepts exactly the two secrets.
func FuzzAuthenticate(f *testing.F) {
	m := newManager(f)
	_, inf, err := m.Create(ctx, keys.CreateOptions{Name: "inf"})
	if err != nil {
		f.Fatal(err)
	}
	_, adm, err := m.Create(ctx, keys.CreateOptions{Name: "adm", Admin: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(inf)
	f.Add(adm)
	f.Fuzz(func(t *testing.T, s string) {
		k, err := m.Cache.Authenticate(s)
		accepted := err == nil
		if want := s == inf || s == adm; accepted != want {
			t.Fatalf("Authenticate(%q) accepted = %v, want %v", s, accepted, want)
		}
		if accepted && k.Admin != (s == adm) {
			t.Fatalf("Authenticate(%q) gave an admin=%v key", s, k.Admin)
		}
		if _, ok := keys.ParseSecret(s); !ok && accepted {
			t.Fatalf("accepted a malformed secret")
		}
	})
}

// FuzzParseWindow checks that ParseWindow never panics, keeps its bounds,
// and reads back what FormatWindow writes.
func FuzzParseWindow(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := keys.ParseWindow(s)
		if err != nil {
			return
		}
		if d < time.Minute || d > 3660*24*time.Hour {
			t.Fatalf("ParseWindow(%q) = %v, out of bounds", s, d)
		}
		back, err := keys.ParseWindow(keys.FormatWindow(d))
		if err != nil || back != d {
			t.Fatalf("ParseWindow(FormatWindow(%v) = %q) = %v, %v", d, keys.FormatWindow(d), back, err)
		}
	})
}
