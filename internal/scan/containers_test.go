package scan

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/pickle"
	"sov.dev/sov/internal/pickle/pickletest"
)

// pfTorchZip builds a checkpoint laid out as torch.save writes it: a
// data.pkl state_dict and one stored FloatStorage member per tensor.
func pfTorchZip(t testing.TB, pkl []byte, numel []int64, extra ...pfMember) []byte {
	members := []pfMember{{name: "archive/data.pkl", data: pkl}}
	for i, n := range numel {
		members = append(members, pfMember{name: "archive/data/" + strconv.Itoa(i), data: make([]byte, 4*n)})
	}
	members = append(members, pfMember{name: "archive/version", data: []byte("3\n")},
		pfMember{name: "archive/byteorder", data: []byte("little")})
	return pfZip(t, nil, append(members, extra...)...)
}

func TestTorchZip(t *testing.T) {
	names, numel := []string{"fc.weight", "fc.bias"}, []int64{6, 2}
	state := pickletest.TorchStateDict(names, numel)
	badPid := pickletest.New().Proto(2).Op(pickle.MARK).Str("storage").Str("x").Op(pickle.TUPLE, pickle.BINPERSID).Stop().Bytes()
	tests := []struct {
		name    string
		zip     []byte
		verdict Safety
		rules   []string
	}{
		{"benign state_dict", pfTorchZip(t, state, numel), Innocuous, nil},
		{"gadget in data.pkl", pfTorchZip(t, pfEvil, nil), Dangerous, []string{"pickle.import"}},
		{"gadget in another member", pfTorchZip(t, state, numel, pfMember{name: "archive/.data/extra", data: pfEvil}),
			Dangerous, []string{"pickle.import"}},
		{"missing storage", pfTorchZip(t, state, numel[:1]), Suspicious, []string{"torch.missing-storage"}},
		{"short storage", pfTorchZip(t, state, []int64{6, 1}), Suspicious, []string{"torch.storage-size"}},
		{"odd persistent id", pfTorchZip(t, badPid, nil), Suspicious, []string{"pickle.persistent-id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pfScan(t, tt.zip, "pytorch-zip")
			if res.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s%s", res.Verdict, tt.verdict, pfDescribe(res))
			}
			if got := pfRules(res); !slices.Equal(got, tt.rules) {
				t.Errorf("rules = %v, want %v%s", got, tt.rules, pfDescribe(res))
			}
		})
	}
	t.Run("imports", func(t *testing.T) {
		res := pfScan(t, pfTorchZip(t, state, numel), "pytorch-zip")
		want := &PickleImportScan{HighestSafetyLevel: Innocuous, Imports: []Import{
			{"collections", "OrderedDict", Innocuous},
			{"torch", "FloatStorage", Innocuous},
			{"torch._utils", "_rebuild_tensor_v2", Innocuous},
		}}
		if diff := cmp.Diff(want, res.PickleImportScan); diff != "" {
			t.Errorf("pickleImportScan (-want +got):\n%s", diff)
		}
	})
}

// pfLegacy builds a legacy (pre-zip) torch.save file around sysInfo and
// main pickles, with FloatStorages "0", "1", … of numel elements, and
// trailing extra bytes (negative: that many bytes cut off the end).
func pfLegacy(sysInfo, main []byte, numel []int64, trailing int) []byte {
	magic := pickletest.New().Proto(2).Raw(torchLegacyMagic...).Stop().Bytes()
	proto := pickletest.New().Proto(2).Int(1001).Stop().Bytes()
	keys := pickletest.New().Proto(2).Op(pickle.MARK)
	for i := range numel {
		keys.BinUnicode(strconv.Itoa(i))
	}
	out := slices.Concat(magic, proto, sysInfo, main, keys.Op(pickle.LIST).Stop().Bytes())
	for _, n := range numel {
		out = binary.LittleEndian.AppendUint64(out, uint64(n))
		out = append(out, make([]byte, 4*n)...)
	}
	if trailing < 0 {
		return out[:len(out)+trailing]
	}
	return append(out, make([]byte, trailing)...)
}

func TestLegacyTorch(t *testing.T) {
	numel := []int64{6, 2}
	state := pickletest.TorchStateDict([]string{"a", "b"}, numel)
	sysInfo := pickletest.New().Proto(2).Op(pickle.EMPTY_DICT).Str("little_endian").Op(pickle.NEWTRUE, pickle.SETITEM).Stop().Bytes()
	tests := []struct {
		name    string
		file    []byte
		verdict Safety
		rules   []string
	}{
		{"benign", pfLegacy(sysInfo, state, numel, 0), Innocuous, nil},
		{"gadget in sys_info", pfLegacy(pfEvil, state, numel, 0), Dangerous, []string{"pickle.import"}},
		{"bytes after the storages", pfLegacy(sysInfo, state, numel, 9), Suspicious, []string{"torch.legacy-trailing"}},
		{"storages cut short", pfLegacy(sysInfo, state, numel, -5), Suspicious, []string{"torch.legacy-layout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pfScan(t, tt.file, "pytorch-legacy")
			if res.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s%s", res.Verdict, tt.verdict, pfDescribe(res))
			}
			if got := pfRules(res); !slices.Equal(got, tt.rules) {
				t.Errorf("rules = %v, want %v%s", got, tt.rules, pfDescribe(res))
			}
		})
	}
}

// pfTar builds a tar of name, data pairs.
func pfTar(t testing.TB, kv ...any) []byte {
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for i := 0; i+1 < len(kv); i += 2 {
		data := kv[i+1].([]byte)
		if err := w.WriteHeader(&tar.Header{Name: kv[i].(string), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	w.Close()
	return buf.Bytes()
}

func TestLegacyTar(t *testing.T) {
	storages := slices.Concat(pickletest.New().Proto(2).Int(1).Stop().Bytes(),
		pickletest.New().Proto(2).Str("0").Str("cpu").Global("torch", "FloatStorage").Op(pickle.TUPLE3).Stop().Bytes(),
		binary.LittleEndian.AppendUint64(nil, 2), make([]byte, 8),
		pickletest.New().Proto(2).Op(pickle.EMPTY_LIST).Stop().Bytes())
	tensors := slices.Concat(pickletest.New().Proto(2).Int(1).Stop().Bytes(),
		pickletest.New().Proto(2).Str("t").Str("0").Global("torch", "FloatTensor").Op(pickle.TUPLE3).Stop().Bytes(),
		[]byte{1, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 8+8+8))
	main := pickletest.New().Proto(2).Op(pickle.EMPTY_DICT).Str("w").Str("t").Op(pickle.BINPERSID, pickle.SETITEM).Stop().Bytes()
	sysInfo := pickletest.New().Proto(2).Op(pickle.EMPTY_DICT).Stop().Bytes()
	tests := []struct {
		name    string
		file    []byte
		verdict Safety
		rules   []string
	}{
		{"benign", pfTar(t, "sys_info", sysInfo, "pickle", main, "storages", storages, "tensors", tensors), Innocuous, nil},
		{"gadget in pickle", pfTar(t, "sys_info", sysInfo, "pickle", pfEvil, "storages", storages, "tensors", tensors),
			Dangerous, []string{"pickle.import"}},
		{"gadget in storages", pfTar(t, "sys_info", sysInfo, "pickle", main, "storages", slices.Concat(storages[:4], pfEvil), "tensors", tensors),
			Dangerous, []string{"pickle.import", "torch.legacy-layout"}},
		{"generic tar with a pickle", pfTar(t, "model/weights.pkl", pfEvil), Dangerous, []string{"pickle.import"}},
		{"path escape", pfTar(t, "../x.pkl", pfBenign), Dangerous, []string{"tar.path-escape"}},
		{"tar in a zip", pfZip(t, nil, pfMember{name: "ckpt.tar", data: pfTar(t, "w.pkl", pfEvil)}), Dangerous, []string{"pickle.import", "zip.nested-archive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pfScan(t, tt.file, "pytorch-legacy")
			if res.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s%s", res.Verdict, tt.verdict, pfDescribe(res))
			}
			if got := pfRules(res); !slices.Equal(got, tt.rules) {
				t.Errorf("rules = %v, want %v%s", got, tt.rules, pfDescribe(res))
			}
		})
	}
}

// pfNpy builds a version 1.0 .npy file.
func pfNpy(descr, shape string, data []byte) []byte {
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	out := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	return append(append(out, h...), data...)
}

func TestNumPy(t *testing.T) {
	objArray := pickletest.New().Proto(3).Global("numpy.core.multiarray", "_reconstruct").
		Global("numpy", "ndarray").Int(0).Op(pickle.TUPLE1).Op(pickle.SHORT_BINBYTES).Raw(1, 'b').Op(pickle.TUPLE3, pickle.REDUCE).Stop().Bytes()
	tests := []struct {
		name    string
		file    []byte
		kind    string
		verdict Safety
		rules   []string
		pickles bool
	}{
		{"numeric", pfNpy("<f4", "(2, 3)", make([]byte, 24)), "numpy", Innocuous, nil, false},
		{"numeric size mismatch", pfNpy("<f4", "(2, 3)", make([]byte, 30)), "numpy", Suspicious, []string{"numpy.size-mismatch"}, false},
		{"object array, benign", pfNpy("|O", "(1,)", objArray), "numpy", Suspicious, []string{"numpy.object-array"}, true},
		{"object array with a gadget", pfNpy("|O", "(1,)", pfEvil), "numpy", Dangerous, []string{"numpy.object-array", "pickle.import"}, true},
		{"structured with an object field", pfNpy("[('a', '<f4'), ('b', '|O')]", "(1,)", pfEvil)[:0], "numpy", Suspicious, []string{"numpy.bad-header"}, false},
		{"npz with an object member", pfZip(t, nil, pfMember{name: "a.npy", data: pfNpy("<i8", "(1,)", make([]byte, 8))},
			pfMember{name: "b.npy", data: pfNpy("|O", "(1,)", pfEvil), deflate: true}), "numpy-npz",
			Dangerous, []string{"numpy.object-array", "pickle.import"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.file) == 0 {
				// A structured dtype written by hand: the descr is a list.
				h := "{'descr': [('a', '<f4'), ('b', '|O')], 'fortran_order': False, 'shape': (1,), }\n"
				tt.file = append(append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), 0), h...)
				tt.file = append(tt.file, pfEvil...)
				tt.verdict, tt.rules, tt.pickles = Dangerous, []string{"numpy.object-array", "pickle.import"}, true
			}
			res := pfScan(t, tt.file, tt.kind)
			if res.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s%s", res.Verdict, tt.verdict, pfDescribe(res))
			}
			if got := pfRules(res); !slices.Equal(got, tt.rules) {
				t.Errorf("rules = %v, want %v%s", got, tt.rules, pfDescribe(res))
			}
			if (res.PickleImportScan != nil) != tt.pickles {
				t.Errorf("pickleImportScan = %v, want present %v", res.PickleImportScan, tt.pickles)
			}
		})
	}
}

// pfJoblibArray is what joblib.dump writes for {'w': <6 float64s>}: a
// NumpyArrayWrapper, alignment padding and the raw array bytes inline.
func pfJoblibArray(gap, data []byte) []byte {
	p := pickletest.New().Proto(4).Op(pickle.EMPTY_DICT).Str("w")
	p.StackGlobal("joblib.numpy_pickle", "NumpyArrayWrapper").Op(pickle.EMPTY_TUPLE, pickle.NEWOBJ)
	p.Op(pickle.EMPTY_DICT, pickle.MARK)
	p.Str("subclass").StackGlobal("numpy", "ndarray")
	p.Str("shape").Int(6).Op(pickle.TUPLE1)
	p.Str("order").Str("C")
	p.Str("dtype").StackGlobal("numpy", "dtype").Str("f8").Op(pickle.NEWFALSE, pickle.NEWTRUE, pickle.TUPLE3, pickle.REDUCE)
	p.Op(pickle.MARK).Int(3).Str("<").Op(pickle.NONE, pickle.NONE, pickle.NONE).Int(-1).Int(-1).Int(0).Op(pickle.TUPLE, pickle.BUILD)
	p.Str("allow_mmap").Op(pickle.NEWTRUE).Str("numpy_array_alignment_bytes").Int(16)
	p.Op(pickle.SETITEMS, pickle.BUILD)
	p.Raw(gap...).Raw(data...)
	return p.Op(pickle.SETITEM).Stop().Bytes()
}

func TestJoblibAndCompressed(t *testing.T) {
	comp := func(kind string, b []byte) []byte {
		var buf bytes.Buffer
		switch kind {
		case "zlib":
			w := zlib.NewWriter(&buf)
			w.Write(b)
			w.Close()
		case "gzip":
			w := gzip.NewWriter(&buf)
			w.Write(b)
			w.Close()
		}
		return buf.Bytes()
	}
	// Padding that joblib skips ('N' = 78 bytes) but plain pickle.load
	// runs as opcodes.
	pad := []byte{2, 0xff, 0xff}
	hidden := slices.Concat([]byte("Ncos\nsystem\n"), bytes.Repeat([]byte("N"), 78-11))
	tests := []struct {
		name    string
		file    []byte
		verdict Safety
		rules   []string
	}{
		{"joblib array, benign", pfJoblibArray(pad, make([]byte, 48)), Innocuous, nil},
		{"joblib array hiding opcodes", pfJoblibArray(hidden, make([]byte, 48)), Dangerous, []string{"pickle.import"}},
		{"zlib pickle", comp("zlib", pfEvil), Dangerous, []string{"pickle.import"}},
		{"gzip pickle", comp("gzip", pfEvil), Dangerous, []string{"pickle.import"}},
		{"zlib joblib array", comp("zlib", pfJoblibArray(pad, make([]byte, 48))), Innocuous, nil},
		{"old joblib zlib", slices.Concat([]byte("ZF0x"+strings.Repeat(" ", 17)), comp("zlib", pfEvil)), Dangerous, []string{"pickle.import"}},
		{"xz", []byte("\xfd7zXZ\x00\x00\x04rest"), Dangerous, []string{"container.unopenable"}},
		{"corrupt zlib", []byte{0x78, 0x9c, 1, 2, 3, 4}, Dangerous, []string{"zip.unreadable"}},
		{"7z", []byte("7z\xbc\xaf\x27\x1c\x00\x04rest of a 7z archive"), Dangerous, []string{"container.7z-unopenable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pfScan(t, tt.file, "joblib")
			if res.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s%s", res.Verdict, tt.verdict, pfDescribe(res))
			}
			if got := pfRules(res); !slices.Equal(got, tt.rules) {
				t.Errorf("rules = %v, want %v%s", got, tt.rules, pfDescribe(res))
			}
		})
	}
}

func TestPickleFamilyKind(t *testing.T) {
	for head, want := range map[string]string{
		"PK\x03\x04": "zip", "7z\xbc\xaf\x27\x1c": "7z", "\x93NUMPY": "npy", "\x1f\x8b\x08": "gzip",
		"\x80\x02": "pickle", "\x80\x09": "", "\x78\x9c": "zlib", "BZh9": "bzip2", "hello": "",
	} {
		if got := PickleFamilyKind([]byte(head)); got != want {
			t.Errorf("PickleFamilyKind(%q) = %q, want %q", head, got, want)
		}
	}
}

// Run the 1 GiB target with
//
//	go test -run=^$ -bench=ScanTorchZip ./internal/scan/ -args -sov.torchzip-mb=1024
var pfTorchZipMB = flag.Int("sov.torchzip-mb", 64, "size of the generated checkpoint BenchmarkScanTorchZip scans, in MiB")

// BenchmarkScanTorchZip scans a generated PyTorch zip checkpoint of
// -sov.torchzip-mb MiB (4 MiB stored tensors); tensor data is skipped.
func BenchmarkScanTorchZip(b *testing.B) {
	const tensorBytes = 4 << 20
	n := max(1, *pfTorchZipMB*(1<<20)/tensorBytes)
	names, numel := make([]string, n), make([]int64, n)
	for i := range n {
		names[i], numel[i] = fmt.Sprintf("layers.%d.weight", i), tensorBytes/4
	}
	path := filepath.Join(b.TempDir(), "model.pt")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw := pfZipWriter(f)
	pfZipAdd(b, zw, "archive/data.pkl", pickletest.TorchStateDict(names, numel))
	zero := make([]byte, tensorBytes)
	for i := range n {
		pfZipAdd(b, zw, "archive/data/"+strconv.Itoa(i), zero)
	}
	if err := zw.Close(); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	size := st.Size()
	b.SetBytes(size)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		res := &FileResult{Verdict: Innocuous}
		if err := ScanPickleFamily(context.Background(), f, size, "pytorch-zip", res); err != nil {
			b.Fatal(err)
		}
		if res.Verdict != Innocuous {
			b.Fatalf("verdict %s%s", res.Verdict, pfDescribe(res))
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(size)*float64(b.N)/el/1e9, "GB/s")
	f.Close()
}
