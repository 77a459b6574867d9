package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/scan"
)

func TestPlanTensors(t *testing.T) {
	tests := []struct {
		size int64
		n    int
	}{
		{1, 3},
		{2 << 20, 12},
		{3 << 20, 20},
		{256 << 20, 300},
		{1 << 30, 300},
		{1 << 30, 3},
		{10 << 30, 1000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-%d", tt.size, tt.n), func(t *testing.T) {
			ts, err := planTensors(tt.size, tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != tt.n {
				t.Errorf("got %d tensors, want %d", len(ts), tt.n)
			}
			var sum int64
			seen := map[string]bool{}
			for _, x := range ts {
				sum += x.bytes()
				if seen[x.name] {
					t.Errorf("tensor %s appears twice", x.name)
				}
				seen[x.name] = true
			}
			if sum < tt.size {
				t.Errorf("tensors hold %d bytes, less than %d", sum, tt.size)
			}
			if tt.size >= 256<<20 && float64(sum) > 1.01*float64(tt.size) {
				t.Errorf("tensors hold %d bytes, more than 1%% over %d", sum, tt.size)
			}
			if first, last := ts[0].name, ts[len(ts)-1].name; first != "model.embed_tokens.weight" || last != "lm_head.weight" {
				t.Errorf("first and last tensors %s, %s", first, last)
			}
		})
	}
	for _, bad := range []struct {
		size int64
		n    int
	}{{1 << 20, 2}, {0, 300}, {-1, 300}} {
		if _, err := planTensors(bad.size, bad.n); err == nil {
			t.Errorf("planTensors(%d, %d) succeeded", bad.size, bad.n)
		}
	}
}

// TestCheckpoint writes small checkpoints, clean and with the hidden
// pickle, with miniz's zip64 threshold and with a low one that puts
// zip64 fields on most members, and checks that archive/zip reads them
// (CRCs included), that their layout is PyTorch's, and what sov's
// scanner says.
func TestCheckpoint(t *testing.T) {
	ts, err := planTensors(3<<20, 20)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		hidden  bool
		zip64At int64
	}{
		{"clean", false, 0xFFFFFFFF},
		{"hidden", true, 0xFFFFFFFF},
		{"clean-zip64", false, 100 << 10},
		{"hidden-zip64", true, 100 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := checkpointMembers(ts, tt.hidden)
			file := filepath.Join(t.TempDir(), "model.pt")
			writeFile(t, file, ms, tt.zip64At)
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			want64 := 0
			if tt.zip64At < 0xFFFFFFFF {
				want64 = len(ms) - 4 // all but the first 4 (data/0 starts before 100 KiB too)
			}
			wantSize, got64 := checkpointSize(ms, tt.zip64At)
			if got := fi.Size(); got != wantSize || got64 != want64 {
				t.Errorf("file has %d bytes, want %d (checkpointSize); %d zip64 members, want %d", got, wantSize, got64, want64)
			}

			zr, err := zip.OpenReader(file)
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			var names, wantNames []string
			for _, m := range ms {
				wantNames = append(wantNames, m.name)
			}
			for i, f := range zr.File {
				names = append(names, f.Name)
				if i >= len(ms) {
					continue
				}
				m := ms[i]
				if f.Method != zip.Store || f.Flags != flagDescriptor|flagUTF8 {
					t.Errorf("%s: method %d, flags %#x", f.Name, f.Method, f.Flags)
				}
				if f.UncompressedSize64 != uint64(m.size) || f.CompressedSize64 != uint64(m.size) {
					t.Errorf("%s: sizes %d/%d, want %d", f.Name, f.CompressedSize64, f.UncompressedSize64, m.size)
				}
				off, err := f.DataOffset()
				if err != nil {
					t.Fatal(err)
				}
				if off%fieldAlignment != 0 {
					t.Errorf("%s: data at offset %d, not %d-aligned", f.Name, off, fieldAlignment)
				}
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(rc) // checks the CRC at the end
				rc.Close()
				if err != nil {
					t.Errorf("%s: %v", f.Name, err)
				}
				if m.data != nil && !bytes.Equal(data, m.data) {
					t.Errorf("%s: content differs", f.Name)
				}
			}
			if diff := cmp.Diff(wantNames, names); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}

			res, err := scan.File(context.Background(), file, scan.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != "pytorch-zip" {
				t.Errorf("format %q, want pytorch-zip", res.Format)
			}
			want := scan.Innocuous
			if tt.hidden {
				want = scan.Dangerous
			}
			if res.Verdict != want {
				t.Errorf("verdict %s, want %s; findings: %+v", res.Verdict, want, res.Findings)
			}
			var imports []string
			if res.PickleImportScan != nil {
				for _, im := range res.PickleImportScan.Imports {
					imports = append(imports, im.Module+"."+im.Name+" "+string(im.Safety))
				}
			}
			slices.Sort(imports)
			wantImports := []string{
				"collections.OrderedDict innocuous",
				"torch.BFloat16Storage innocuous",
				"torch._utils._rebuild_tensor_v2 innocuous",
			}
			if tt.hidden {
				wantImports = append(wantImports, "posix.system dangerous")
				slices.Sort(wantImports)
			}
			if diff := cmp.Diff(wantImports, imports); diff != "" {
				t.Errorf("imports (-want +got):\n%s", diff)
			}
			var found bool
			for _, f := range res.Findings {
				if f.Severity == scan.Dangerous && f.Rule == "pickle.import" && strings.HasPrefix(f.Location, hiddenMember) {
					found = true
				}
			}
			if found != tt.hidden {
				t.Errorf("dangerous import reported at %s: %v, want %v; findings: %+v", hiddenMember, found, tt.hidden, res.Findings)
			}
		})
	}
}

func writeFile(t *testing.T, file string, ms []member, zip64At int64) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := writeCheckpoint(&buf, ms, zip64At); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureCheckpointReuses(t *testing.T) {
	ts, err := planTensors(1<<20, 5)
	if err != nil {
		t.Fatal(err)
	}
	ms := checkpointMembers(ts, false)
	file := filepath.Join(t.TempDir(), "c.pt")
	for i, want := range []bool{true, false} {
		wrote, err := ensureCheckpoint(file, ms)
		if err != nil {
			t.Fatal(err)
		}
		if wrote != want {
			t.Errorf("call %d: wrote %v, want %v", i, wrote, want)
		}
	}
	// A file of another size (an interrupted or older run) is rewritten.
	if err := os.WriteFile(file, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if wrote, err := ensureCheckpoint(file, ms); err != nil || !wrote {
		t.Errorf("after truncation: wrote %v, %v; want a rewrite", wrote, err)
	}
	if _, err := os.Stat(file + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: %v", err)
	}
}

// pythonTorchStubs makes `torch` and `torch._utils` importable without
// PyTorch: just the names a state-dict pickle refers to.
const pythonTorchStubs = `import collections, pickle, sys, types
torch = types.ModuleType("torch")
utils = types.ModuleType("torch._utils")
class BFloat16Storage: pass
BFloat16Storage.__module__ = "torch"
torch.BFloat16Storage = BFloat16Storage
def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks):
    return ("tensor", storage, offset, list(size), list(stride), requires_grad, len(hooks))
_rebuild_tensor_v2.__module__ = "torch._utils"
utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch._utils = utils
sys.modules["torch"], sys.modules["torch._utils"] = torch, utils
`

func python(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	return p
}

// TestStatePickleMatchesCPython pickles the same state dict with CPython
// (torch stubbed: the same classes and functions under the same names, a
// persistent_id hook like torch.save's) and compares the bytes.
func TestStatePickleMatchesCPython(t *testing.T) {
	py := python(t)
	for _, n := range []int{3, 20, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ts, err := planTensors(2<<20, n)
			if err != nil {
				t.Fatal(err)
			}
			type spec struct {
				Name  string  `json:"name"`
				Shape []int64 `json:"shape"`
			}
			var specs []spec
			for _, x := range ts {
				specs = append(specs, spec{x.name, x.shape})
			}
			in, err := json.Marshal(specs)
			if err != nil {
				t.Fatal(err)
			}
			script := pythonTorchStubs + `import json
class Storage:
    def __init__(self, key, numel): self.key, self.numel = key, numel
class Tensor:
    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape
    def __reduce_ex__(self, proto):
        stride, s = [], 1
        for d in reversed(self.shape):
            stride.insert(0, s)
            s *= d
        return (_rebuild_tensor_v2, (self.storage, 0, tuple(self.shape), tuple(stride), False, collections.OrderedDict()))
class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", BFloat16Storage, obj.key, "cpu", obj.numel)
        return None
sd = collections.OrderedDict()
sd._metadata = collections.OrderedDict()
sd._metadata[""] = dict(version=1)
for i, spec in enumerate(json.load(sys.stdin)):
    numel = 1
    for d in spec["shape"]:
        numel *= d
    sd[spec["name"]] = Tensor(Storage(str(i), numel), spec["shape"])
    parts = spec["name"].split(".")
    for k in range(1, len(parts)):
        m = ".".join(parts[:k])
        if m not in sd._metadata:
            sd._metadata[m] = dict(version=1)
import io
buf = io.BytesIO()
Pickler(buf, protocol=2).dump(sd)
sys.stdout.write(buf.getvalue().hex())
`
			cmd := exec.Command(py, "-c", script)
			cmd.Stdin = bytes.NewReader(in)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v", err)
			}
			want, err := hex.DecodeString(string(out))
			if err != nil {
				t.Fatal(err)
			}
			got := statePickle(ts)
			if !bytes.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Errorf("pickles differ from byte %d (lengths %d, %d):\n got %x\nwant %x",
					i, len(got), len(want), got[i:min(len(got), i+32)], want[i:min(len(want), i+32)])
			}
		})
	}
}

// TestPayloadPickleMatchesCPython checks the hidden pickle against what
// CPython writes for an object reducing to os.system.
func TestPayloadPickleMatchesCPython(t *testing.T) {
	py := python(t)
	script := `import pickle, posix, sys
class Payload:
    def __reduce__(self):
        return (posix.system, (sys.argv[1],))
sys.stdout.write(pickle.dumps(Payload(), protocol=2).hex())
`
	out, err := exec.Command(py, "-c", script, hiddenCommand).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	if got := hex.EncodeToString(payloadPickle()); got != string(out) {
		t.Errorf("payload pickle\n got %s\nwant %s", got, out)
	}
}

// TestAnchor runs the anchor script on the small checkpoints: Python's
// zipfile reads them (CRCs checked), the clean one is innocuous, and the
// hidden pickle is missed, because the anchor reads *.pkl members only,
// as the scanners it stands for do.
func TestAnchor(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "anchor.py")
	if err := os.WriteFile(script, []byte(anchorScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ts, err := planTensors(2<<20, 12)
	if err != nil {
		t.Fatal(err)
	}
	for _, hidden := range []bool{false, true} {
		t.Run(fmt.Sprint("hidden=", hidden), func(t *testing.T) {
			file := filepath.Join(dir, fmt.Sprint(hidden, ".pt"))
			writeFile(t, file, checkpointMembers(ts, hidden), 0xFFFFFFFF)
			check := `import sys, zipfile
bad = zipfile.ZipFile(sys.argv[1]).testzip()
if bad: sys.exit("bad CRC in " + bad)`
			if out, err := exec.Command(py, "-c", check, file).CombinedOutput(); err != nil {
				t.Fatalf("zipfile: %v: %s", err, out)
			}
			out, err := exec.Command(py, script, file).Output()
			if err != nil {
				t.Fatalf("anchor: %v", err)
			}
			verdict, detail, err := anchorVerdict(out, 0)
			if err != nil {
				t.Fatal(err)
			}
			if verdict != "innocuous" || detail != "read archive/data.pkl, 3 imports" {
				t.Errorf("anchor: %s (%s), want innocuous (read archive/data.pkl, 3 imports)", verdict, detail)
			}
		})
	}
}

// TestAnchorFindsPickleImports checks the anchor's own opcode walk on a
// .pkl member with GLOBAL and memoised STACK_GLOBAL imports, so that a
// miss above is the member's name, not a blind anchor.
func TestAnchorFindsPickleImports(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "anchor.py")
	if err := os.WriteFile(script, []byte(anchorScript), 0o644); err != nil {
		t.Fatal(err)
	}
	// protocol 4: STACK_GLOBAL with both strings memoised and the module
	// string fetched back from the memo for the second import.
	mk := `import io, pickle, sys, zipfile
p = (b"\x80\x04\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94h\x00\x8c\x03len\x94\x93\x94"
     b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93" + b"cposix\nsystem\n" + b"0000.")
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("archive/data.pkl", p)
`
	file := filepath.Join(dir, "m.pt")
	if out, err := exec.Command(py, "-c", mk, file).CombinedOutput(); err != nil {
		t.Fatalf("python: %v: %s", err, out)
	}
	out, err := exec.Command(py, script, file).Output()
	if err != nil {
		t.Fatalf("anchor: %v", err)
	}
	var rep struct {
		Imports map[string]string `json:"imports"`
		Verdict string            `json:"verdict"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"builtins.eval":           "dangerous",
		"builtins.len":            "suspicious",
		"collections.OrderedDict": "innocuous",
		"posix.system":            "dangerous",
	}
	if diff := cmp.Diff(want, rep.Imports); diff != "" {
		t.Errorf("imports (-want +got):\n%s", diff)
	}
	if rep.Verdict != "dangerous" {
		t.Errorf("verdict %s, want dangerous", rep.Verdict)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1GiB", 1 << 30, true},
		{"256MiB", 256 << 20, true},
		{"1.5GiB", 3 << 29, true},
		{"2GB", 2e9, true},
		{"10KB", 10e3, true},
		{"100B", 100, true},
		{"1", 0, false},
		{"GiB", 0, false},
		{"-1GiB", 0, false},
		{"0MiB", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
