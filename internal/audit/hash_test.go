package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// TestEntryHashKnownAnswer pins the hashed bytes documented in
// docs/design/audit.md; the hash was also computed independently with
// Python's hashlib and json.dumps(sort_keys=True, separators=(",", ":")).
func TestEntryHashKnownAnswer(t *testing.T) {
	p, err := prepare(Entry{
		Time:  time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
		Kind:  KindKeyCreate,
		Actor: "cli:alice",
		Data:  Data{"rpm": 60, "name": "ci"},
	}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	const wantBytes = "sov-audit-v1\n" +
		`{"actor":"cli:alice","data":{"name":"ci","rpm":60},"kind":"key.create",` +
		`"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",` +
		`"seq":1,"time":"2025-01-02T03:04:05.000000006Z"}`
	const want = "5d2f8ebc8befcde6ec3a7de723630aa106b48b0d3ef97bf3dda976a4860a1fe0"
	got, buf := entryHash(nil, 1, p, genesisHash)
	if string(buf) != wantBytes {
		t.Errorf("hashed bytes:\n%s\nwant\n%s", buf, wantBytes)
	}
	if got != want {
		t.Errorf("hash = %s, want %s", got, want)
	}
	sum := sha256.Sum256([]byte(wantBytes))
	if hex.EncodeToString(sum[:]) != want {
		t.Errorf("the documented bytes do not hash to the documented hash")
	}
}

func TestCheckpointMessage(t *testing.T) {
	h := strings.Repeat("ab", 32)
	got := string(checkpointMessage(40, h, "2025-01-02T03:04:05.000000000Z"))
	want := "sov-audit-checkpoint-v1\n40\n" + h + "\n2025-01-02T03:04:05.000000000Z\n"
	if got != want {
		t.Errorf("checkpointMessage = %q, want %q", got, want)
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		in      time.Time
		want    string
		wantErr bool
	}{
		{in: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), want: "2025-01-02T03:04:05.000000000Z"},
		{in: time.Date(2025, 1, 2, 5, 4, 5, 120, time.FixedZone("x", 2*3600)), want: "2025-01-02T03:04:05.000000120Z"},
		{in: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), want: "0000-01-01T00:00:00.000000000Z"},
		{in: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), wantErr: true},
		{in: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got, err := formatTime(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("formatTime(%v) = %q, %v", tt.in, got, err)
			}
			if got != tt.want {
				t.Errorf("formatTime(%v) = %q, want %q", tt.in, got, tt.want)
			}
			if err != nil {
				return
			}
			back, err := parseTime(got)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Equal(tt.in) {
				t.Errorf("parseTime(%q) = %v, want %v", got, back, tt.in)
			}
		})
	}
	for _, bad := range []string{"2025-01-02T03:04:05Z", "2025-01-02T03:04:05.000000000+00:00", "2025-01-02T03:04:05.0000000000Z", ""} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) accepted a time not in the log's form", bad)
		}
	}
}

func TestPrepareRefuses(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		e       Entry
		wantErr string
	}{
		{name: "empty kind", e: Entry{Actor: "a"}, wantErr: "kind is empty"},
		{name: "upper-case kind", e: Entry{Kind: "Key.Create", Actor: "a"}, wantErr: "not a lowercase letter"},
		{name: "long kind", e: Entry{Kind: strings.Repeat("k", MaxKindLen+1), Actor: "a"}, wantErr: "more than"},
		{name: "empty actor", e: Entry{Kind: "k"}, wantErr: "actor is empty"},
		{name: "control in actor", e: Entry{Kind: "k", Actor: "a\nb"}, wantErr: "control character"},
		{name: "invalid actor", e: Entry{Kind: "k", Actor: "a\xff"}, wantErr: "not valid UTF-8"},
		{name: "long actor", e: Entry{Kind: "k", Actor: strings.Repeat("a", MaxActorLen+1)}, wantErr: "more than"},
		{name: "far time", e: Entry{Kind: "k", Actor: "a", Time: time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC)}, wantErr: "outside the years"},
		{name: "bad data", e: Entry{Kind: "k", Actor: "a", Data: Data{"f": func() {}}}, wantErr: "unsupported type"},
		{name: "big data", e: Entry{Kind: "k", Actor: "a", Data: Data{"s": strings.Repeat("x", MaxDataLen)}}, wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := prepare(tt.e, now)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("prepare error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	p, err := prepare(Entry{Kind: "k", Actor: "a"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if p.time != "2025-01-01T00:00:00.000000000Z" || p.data != "{}" {
		t.Errorf("prepare = %+v, want now's time and {} data", p)
	}
}
