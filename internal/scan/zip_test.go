package scan

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"testing"

	"sov.dev/sov/internal/pickle"
	"sov.dev/sov/internal/pickle/pickletest"
)

// pfMember is one member of a test zip.
type pfMember struct {
	name string
	data []byte
	// deflate compresses the member; raw writes it with CreateRaw using
	// crc and usize as declared (data is then the compressed bytes).
	deflate bool
	raw     bool
	method  uint16
	crc     uint32
	usize   uint64
}

// pfZip writes a zip of members after the prefix bytes.
func pfZip(t testing.TB, prefix []byte, members ...pfMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.Write(prefix)
	w := zip.NewWriter(&buf)
	w.SetOffset(int64(len(prefix)))
	for _, m := range members {
		if m.raw {
			fw, err := w.CreateRaw(&zip.FileHeader{Name: m.name, Method: m.method, CRC32: m.crc,
				CompressedSize64: uint64(len(m.data)), UncompressedSize64: m.usize})
			if err != nil {
				t.Fatal(err)
			}
			fw.Write(m.data)
			continue
		}
		method := zip.Store
		if m.deflate {
			method = zip.Deflate
		}
		fw, err := w.CreateHeader(&zip.FileHeader{Name: m.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(m.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pfDeflate compresses b.
func pfDeflate(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	fw.Write(b)
	fw.Close()
	return buf.Bytes()
}

// pfPatch calls fn on the local and central headers (30 and 46 bytes)
// of every member named name.
func pfPatch(t testing.TB, z []byte, name string, fn func(local, central []byte)) []byte {
	t.Helper()
	z = slices.Clone(z)
	var locals, centrals [][]byte
	for i := 0; i+46 <= len(z); i++ {
		switch string(z[i : i+4]) {
		case "PK\x03\x04":
			n := int(binary.LittleEndian.Uint16(z[i+26:]))
			if i+30+n <= len(z) && string(z[i+30:i+30+n]) == name {
				locals = append(locals, z[i:i+30])
			}
		case "PK\x01\x02":
			n := int(binary.LittleEndian.Uint16(z[i+28:]))
			if i+46+n <= len(z) && string(z[i+46:i+46+n]) == name {
				centrals = append(centrals, z[i:i+46])
			}
		}
	}
	if len(locals) == 0 || len(locals) != len(centrals) {
		t.Fatalf("member %q: %d local and %d central headers", name, len(locals), len(centrals))
	}
	for i := range locals {
		fn(locals[i], centrals[i])
	}
	return z
}

var (
	pfEvil   = pickletest.New().Proto(2).Global("os", "system").Call("id").Stop().Bytes()
	pfBenign = pickletest.New().Proto(2).Global("collections", "OrderedDict").Op(pickle.EMPTY_TUPLE, pickle.REDUCE).Stop().Bytes()
)

func TestZipTricks(t *testing.T) {
	evil := pfMember{name: "archive/data.pkl", data: pfEvil}
	benign := pfMember{name: "archive/data.pkl", data: pfBenign}
	inner := pfZip(t, nil, pfMember{name: "payload.pkl", data: pfEvil})
	nest := func(b []byte, depth int) []byte {
		for range depth {
			b = pfZip(t, nil, pfMember{name: "nested.zip", data: b})
		}
		return b
	}
	tests := []struct {
		name    string
		zip     []byte
		verdict Safety
		rules   []string
		where   string // a finding must have this location
	}{
		{"benign", pfZip(t, nil, benign), Innocuous, nil, ""},
		{"deflated benign", pfZip(t, nil, pfMember{name: "archive/data.pkl", data: pfBenign, deflate: true}), Innocuous, nil, ""},
		{"gadget", pfZip(t, nil, evil), Dangerous, []string{"pickle.import"}, "archive/data.pkl, offset 2"},
		{"pickle under another name", pfZip(t, nil, benign, pfMember{name: "archive/extra/weights.bin", data: pfEvil}),
			Dangerous, []string{"pickle.import"}, "archive/extra/weights.bin, offset 2"},
		{"CRC mismatch", pfZip(t, nil, pfMember{name: "archive/data.pkl", data: pfBenign, raw: true, crc: 1234, usize: uint64(len(pfBenign))}),
			Suspicious, []string{"zip.crc-mismatch"}, "archive/data.pkl"},
		{"encrypted flag", pfPatch(t, pfZip(t, nil, evil), "archive/data.pkl", func(l, c []byte) { l[6] |= 1; c[8] |= 1 }),
			Dangerous, []string{"pickle.import", "zip.encrypted"}, "archive/data.pkl"},
		{"unusual flags", pfPatch(t, pfZip(t, nil, benign), "archive/data.pkl", func(l, c []byte) { l[7] |= 0x10; c[9] |= 0x10 }),
			Suspicious, []string{"zip.bad-flags"}, "archive/data.pkl"},
		{"duplicate names", pfZip(t, nil, benign, evil), Dangerous, []string{"pickle.import", "zip.duplicate-name"}, "archive/data.pkl"},
		{"dot-dot path", pfZip(t, nil, pfMember{name: "../../etc/cron.d/x", data: []byte("x")}),
			Dangerous, []string{"zip.path-escape"}, "../../etc/cron.d/x"},
		{"absolute path", pfZip(t, nil, pfMember{name: "/etc/passwd", data: []byte("x")}),
			Dangerous, []string{"zip.path-escape"}, "/etc/passwd"},
		{"nested zip", pfZip(t, nil, benign, pfMember{name: "inner.zip", data: inner}),
			Dangerous, []string{"pickle.import", "zip.nested-archive"}, "inner.zip/payload.pkl, offset 2"},
		{"nested too deep", nest(inner, maxZipDepth+1), Dangerous, []string{"zip.nested-archive"}, ""},
		{"declared bomb", pfZip(t, nil, pfMember{name: "big.bin", data: pfDeflate(t, make([]byte, 1<<20)), raw: true,
			method: zip.Deflate, crc: crc32.ChecksumIEEE(make([]byte, 1<<20)), usize: 1 << 30}),
			Suspicious, []string{"zip.bomb"}, "big.bin"},
		{"inflates past its declared size", pfZip(t, nil, pfMember{name: "x.pkl", data: pfDeflate(t, pfEvil), raw: true,
			method: zip.Deflate, crc: crc32.ChecksumIEEE(pfEvil), usize: 4}),
			Dangerous, []string{"zip.size-mismatch"}, "x.pkl"},
		{"local header disagrees", pfPatch(t, pfZip(t, nil, benign), "archive/data.pkl", func(l, c []byte) { l[8] = 8 }),
			Dangerous, []string{"zip.header-mismatch"}, "archive/data.pkl"},
		{"unsupported method", pfZip(t, nil, pfMember{name: "archive/data.pkl", data: pfEvil, raw: true, method: 14,
			crc: crc32.ChecksumIEEE(pfEvil), usize: uint64(len(pfEvil))}),
			Dangerous, []string{"zip.bad-method"}, "archive/data.pkl"},
		{"data before the archive", pfZip(t, append([]byte("PK\x03\x04"), make([]byte, 96)...), benign), Suspicious, []string{"zip.hidden-data"}, ""},
		{"truncated", pfZip(t, nil, benign)[:40], Dangerous, []string{"zip.unreadable"}, ""},
		{"overlapping members", pfPatch(t, pfZip(t, nil, pfMember{name: "a.pkl", data: pfEvil}, pfMember{name: "b.pkl", data: pfEvil}),
			"b.pkl", func(l, c []byte) { clear(c[42:46]) }),
			Dangerous, []string{"pickle.import", "zip.header-mismatch", "zip.hidden-data", "zip.overlap"}, "b.pkl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pfScan(t, tt.zip, "zip")
			if res.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s%s", res.Verdict, tt.verdict, pfDescribe(res))
			}
			if got := pfRules(res); !slices.Equal(got, tt.rules) {
				t.Errorf("rules = %v, want %v%s", got, tt.rules, pfDescribe(res))
			}
			if tt.where != "" && !slices.ContainsFunc(res.Findings, func(f Finding) bool { return f.Location == tt.where }) {
				t.Errorf("no finding at %q%s", tt.where, pfDescribe(res))
			}
		})
	}
}

// TestZipBudget checks that decompression stops at the per-file budget.
func TestZipBudget(t *testing.T) {
	res := &FileResult{}
	ps := newPickleScanner(res)
	ps.inflated = maxInflateTotal - 10
	z := pfZip(t, nil, pfMember{name: "a.pkl", data: pfBenign, deflate: true})
	if err := ps.scanZip(context.Background(), bytes.NewReader(z), int64(len(z)), "", 0); err != nil {
		t.Fatal(err)
	}
	if got := pfRules(res); !slices.Equal(got, []string{"zip.bomb"}) {
		t.Errorf("rules = %v, want [zip.bomb]%s", got, pfDescribe(res))
	}
}

func FuzzZip(f *testing.F) {
	f.Add(pfZip(f, nil, pfMember{name: "archive/data.pkl", data: pfBenign}))
	f.Add(pfZip(f, nil, pfMember{name: "a/data.pkl", data: pickletest.TorchStateDict([]string{"w"}, []int64{2})},
		pfMember{name: "a/data/0", data: make([]byte, 8)}))
	f.Add(pfZip(f, nil, pfMember{name: "n.zip", data: pfZip(f, nil, pfMember{name: "x.npy", data: pfNpy("|O", "(1,)", pfEvil)})}))
	f.Add(pfZip(f, []byte("PK\x03\x04junk"), pfMember{name: "d.pkl", data: pfEvil, deflate: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, kind := range []string{"zip", "pickle"} {
			res := &FileResult{}
			if err := ScanPickleFamily(context.Background(), bytes.NewReader(b), int64(len(b)), kind, res); err != nil {
				t.Fatalf("ScanPickleFamily(%s): %v", kind, err)
			}
			for _, f := range res.Findings {
				if f.Severity == "" || f.Rule == "" || strings.TrimSpace(f.Message) == "" {
					t.Fatalf("malformed finding %+v", f)
				}
			}
		}
	})
}

// pfZipWriter and pfZipAdd stream a stored zip to w (for large archives).
func pfZipWriter(w io.Writer) *zip.Writer { return zip.NewWriter(w) }

func pfZipAdd(t testing.TB, zw *zip.Writer, name string, data []byte) {
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
}
