package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"
)

// The exact bytes hashed and signed; docs/design/audit.md is their
// specification and must change with them.
const (
	// entryDomain starts every hashed entry.
	entryDomain = "sov-audit-v1\n"
	// checkpointDomain starts every signed checkpoint message.
	checkpointDomain = "sov-audit-checkpoint-v1\n"
	// timeLayout is RFC 3339 in UTC with exactly nine fraction digits,
	// so that times sort as text.
	timeLayout = "2006-01-02T15:04:05.000000000Z"
)

// genesisHash is the prev_hash of entry 1: 64 zeros.
const genesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// formatTime writes t in UTC in timeLayout. Years outside 0000-9999 do not
// fit the layout and are refused.
func formatTime(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("time %v is outside the years 0000-9999", t)
	}
	return t.Format(timeLayout), nil
}

// parseTime reads a time written by formatTime, refusing any other
// spelling (a stored time in another spelling was not written by sov).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Format(timeLayout) != s {
		return time.Time{}, fmt.Errorf("time %q is not in the form %s", s, timeLayout)
	}
	return t, nil
}

// appendEntryObject appends the canonical JSON object of an entry's
// fields: actor, data (already canonical JSON, copied as is), hash (only
// when withHash), kind, prev_hash, seq, time, in that (bytewise) order.
// Without the hash it is what the entry's hash covers; with it, it is the
// entry's line in an export.
func appendEntryObject(b []byte, seq int64, p prepared, prevHash, hash string, withHash bool) []byte {
	b = append(b, `{"actor":`...)
	b = appendString(b, p.actor)
	b = append(b, `,"data":`...)
	b = append(b, p.data...)
	if withHash {
		b = append(b, `,"hash":`...)
		b = appendString(b, hash)
	}
	b = append(b, `,"kind":`...)
	b = appendString(b, p.kind)
	b = append(b, `,"prev_hash":`...)
	b = appendString(b, prevHash)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"time":`...)
	b = appendString(b, p.time)
	return append(b, '}')
}

// entryHash is the hash of entry seq with fields p, chained to prevHash:
// lowercase hex SHA-256 of entryDomain followed by the canonical object
// of the fields without the hash.
func entryHash(buf []byte, seq int64, p prepared, prevHash string) (string, []byte) {
	buf = append(buf[:0], entryDomain...)
	buf = appendEntryObject(buf, seq, p, prevHash, "", false)
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:]), buf
}

// checkpointMessage is what a checkpoint's signature covers.
func checkpointMessage(seq int64, hash, t string) []byte {
	b := make([]byte, 0, len(checkpointDomain)+20+1+len(hash)+1+len(t)+1)
	b = append(b, checkpointDomain...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, '\n')
	b = append(b, hash...)
	b = append(b, '\n')
	b = append(b, t...)
	return append(b, '\n')
}

// isHash reports whether s is 64 lowercase hex digits.
func isHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
