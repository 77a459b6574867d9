package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// FuzzCanonical feeds arbitrary JSON to the canonical encoder: it must
// not panic, and what it writes must be valid JSON that encodes to itself.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{}`, `{"b":1,"a":[1.5,"x",null,true]}`, `{"a":1e400}`, `{"\u00e9":"\ud800"}`, `[1,2]`, `"s"`, `{"a":{"a":{"a":{}}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out, err := appendJSON(nil, raw, 0)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("canonical form of %q is not JSON: %q", raw, out)
		}
		again, err := appendJSON(nil, out, 0)
		if err != nil {
			t.Fatalf("canonical form %q does not re-encode: %v", out, err)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not a fixpoint: %q -> %q -> %q", raw, out, again)
		}
		if d, err := parseData(out); err == nil {
			enc, err := canonicalData(d)
			if err != nil || !bytes.Equal(enc, out) && len(d) > 0 {
				t.Fatalf("Data round trip of %q: %q, %v", out, enc, err)
			}
		}
	})
}

// FuzzParsePublicKey checks that reading a key file never panics and
// accepts only 32-byte keys.
func FuzzParsePublicKey(f *testing.F) {
	for _, s := range []string{"", "00", hex.EncodeToString(make([]byte, 32)), " " + hex.EncodeToString(make([]byte, 32)) + "\n", "zz"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		k, err := ParsePublicKey(text)
		if err == nil && len(k) != ed25519.PublicKeySize {
			t.Fatalf("ParsePublicKey(%q) = %d bytes", text, len(k))
		}
	})
}

// fuzzChain is a valid chain of n entries, its head, and a checkpoint at
// its last entry signed with key.
func fuzzChain(n int, key ed25519.PrivateKey) ([]row, headRow, []checkpointRow) {
	var rows []row
	prev := genesisHash
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		p, err := prepare(Entry{Time: t0.Add(time.Duration(i) * time.Second), Kind: "k", Actor: fmt.Sprint("a", i%2), Data: Data{"i": i}}, t0)
		if err != nil {
			panic(err)
		}
		h, _ := entryHash(nil, int64(i+1), p, prev)
		rows = append(rows, row{seq: int64(i + 1), p: p, prevHash: prev, hash: h})
		prev = h
	}
	last := rows[n-1]
	ts := "2025-01-02T00:00:00.000000000Z"
	cp := checkpointRow{id: 1, seq: last.seq, hash: last.hash, time: ts,
		publicKey: hex.EncodeToString(key.Public().(ed25519.PublicKey)),
		signature: hex.EncodeToString(ed25519.Sign(key, checkpointMessage(last.seq, last.hash, ts)))}
	return rows, headRow{ok: true, seq: last.seq, hash: last.hash}, []checkpointRow{cp}
}

// FuzzVerify tampers with a checkpointed chain in ways the fuzzer picks
// (swap, delete, renumber, flip a byte, add a row, re-hash the rest) and
// checks that the verifier never panics, and reports problems exactly
// when the rows differ from the original.
func FuzzVerify(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 2, 3})          // swap
	f.Add([]byte{1, 4, 0})          // delete
	f.Add([]byte{2, 4, 200})        // renumber to a negative seq
	f.Add([]byte{3, 4, 17})         // flip a byte
	f.Add([]byte{4, 7, 1})          // add a row past the end
	f.Add([]byte{3, 2, 9, 5, 2, 0}) // flip, then re-hash from there
	f.Add([]byte{1, 3, 0, 2, 4, 3, 5, 3, 0})
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	pub := key.Public().(ed25519.PublicKey)
	const n = 8
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 90 {
			ops = ops[:90] // 30 operations are plenty for 8 rows
		}
		orig, head, cps := fuzzChain(n, key)
		rows := slices.Clone(orig)
		for len(ops) >= 3 && len(rows) > 0 {
			op, i, val := ops[0]%6, int(ops[1])%len(rows), ops[2]
			ops = ops[3:]
			switch op {
			case 0: // swap contents, keeping seqs
				j := int(val) % len(rows)
				si, sj := rows[i].seq, rows[j].seq
				rows[i], rows[j] = rows[j], rows[i]
				rows[i].seq, rows[j].seq = si, sj
			case 1: // delete
				rows = slices.Delete(rows, i, i+1)
			case 2: // renumber, unless the seq is taken
				seq := int64(int8(val))
				if !slices.ContainsFunc(rows, func(r row) bool { return r.seq == seq }) {
					rows[i].seq = seq
				}
			case 3: // flip a byte of one field
				fields := []*string{&rows[i].p.time, &rows[i].p.kind, &rows[i].p.actor, &rows[i].p.data, &rows[i].prevHash, &rows[i].hash}
				fp := fields[int(val)%len(fields)]
				if len(*fp) > 0 {
					b := []byte(*fp)
					b[int(val)%len(b)] ^= val | 1
					*fp = string(b)
				}
			case 4: // add a copy of row i past the end
				c := rows[i]
				c.seq = slices.MaxFunc(rows, func(a, b row) int { return int(a.seq - b.seq) }).seq + 1 + int64(val%3)
				rows = append(rows, c)
			case 5: // re-chain from row i on, as a tamperer who knows the format
				slices.SortFunc(rows, func(a, b row) int { return int(a.seq - b.seq) })
				for k := i; k < len(rows); k++ {
					prev := genesisHash
					if k > 0 {
						prev = rows[k-1].hash
					}
					rows[k].prevHash = prev
					rows[k].hash, _ = entryHash(nil, rows[k].seq, rows[k].p, prev)
				}
			}
		}
		slices.SortFunc(rows, func(a, b row) int { return int(a.seq - b.seq) })
		v := newVerifier(pub, slices.Clone(cps), head)
		for _, r := range rows {
			v.add(r)
		}
		rep := v.finish()
		for _, p := range rep.Problems {
			if p.End < p.Seq || p.Message == "" {
				t.Errorf("bad problem %+v", p)
			}
		}
		changed := !slices.Equal(rows, orig)
		if rep.OK == changed {
			t.Fatalf("rows changed: %v, but OK = %v:%s", changed, rep.OK, messages(rep))
		}
	})
}
