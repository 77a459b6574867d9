package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"sov.dev/sov/internal/pickle/pickletest"
)

// torchZip writes a PyTorch-style zip checkpoint whose data.pkl is pkl,
// plus extra members.
func torchZip(t *testing.T, dir, name string, pkl []byte, extra map[string][]byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(n string, b []byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	add("archive/data.pkl", pkl)
	add("archive/version", []byte("3\n"))
	add("archive/data/0", make([]byte, 64))
	for n, b := range extra {
		add(n, b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, buf.Bytes())
}

func evilPickle(module, name string) []byte {
	return pickletest.New().Proto(2).Global(module, name).Str("echo pwned").Call().Stop().Bytes()
}

type scanJSON struct {
	Verdict string `json:"verdict"`
	Files   []struct {
		Path             string `json:"path"`
		Format           string `json:"format"`
		Verdict          string `json:"verdict"`
		PickleImportScan *struct {
			HighestSafetyLevel string `json:"highestSafetyLevel"`
			Imports            []struct {
				Module, Name, Safety string
			} `json:"imports"`
		} `json:"pickleImportScan"`
	} `json:"files"`
}

func TestScanExitCodesAndFormats(t *testing.T) {
	e := newEnv(t)
	benign := pickletest.TorchStateDict([]string{"w"}, []int64{16})

	clean := t.TempDir()
	torchZip(t, clean, "pytorch_model.bin", benign, nil)
	writeFile(t, clean, "config.json", []byte(`{"model_type":"llama"}`))
	if out := e.ok("model", "scan", clean); !strings.Contains(out, "verdict: innocuous") {
		t.Errorf("clean checkpoint: %s", out)
	}

	evil := t.TempDir()
	// The payload sits in a member that is not data.pkl, in a file that
	// claims to be safetensors.
	torchZip(t, evil, "model.safetensors", benign, map[string][]byte{"archive/extra/x": evilPickle("posix", "system")})
	r := e.fails(2, "model", "scan", evil, "--json")
	var rep scanJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Verdict != "dangerous" || len(rep.Files) != 1 || rep.Files[0].Format != "pytorch-zip" {
		t.Fatalf("report %+v", rep)
	}
	pis := rep.Files[0].PickleImportScan
	found := false
	for _, im := range pis.Imports {
		found = found || (im.Module == "posix" && im.Name == "system" && im.Safety == "dangerous")
	}
	if pis.HighestSafetyLevel != "dangerous" || !found {
		t.Errorf("pickleImportScan %+v", pis)
	}
	if !strings.Contains(r.stdout, "format.mismatch") {
		t.Errorf("a zip named .safetensors is not reported: %s", r.stdout)
	}

	// Unknown (not allow-listed, not known-dangerous) imports are suspicious: exit 1.
	odd := t.TempDir()
	writeFile(t, odd, "weights.pkl", pickletest.New().Proto(2).Global("mylib.layers", "Dense").Op().Stop().Bytes())
	e.fails(1, "model", "scan", odd)

	// Garbage that claims to be a pickle is never "safe".
	junk := t.TempDir()
	writeFile(t, junk, "model.pkl", []byte("\x80\x02\x8a\xff\xff"))
	if r := e.run("model", "scan", junk); r.code == 0 {
		t.Errorf("truncated pickle scanned clean: %s", r.stdout)
	}

	// SARIF for code-scanning tools.
	r = e.fails(2, "model", "scan", evil, "--sarif")
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				Level string `json:"level"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) == 0 {
		t.Errorf("SARIF: %v %s", err, r.stdout)
	}
}

func TestTrustGateLifecycle(t *testing.T) {
	e := newEnv(t)
	benign := pickletest.TorchStateDict([]string{"w"}, []int64{16})
	card := []byte("---\nlicense: apache-2.0\n---\n# A model\n")

	good := t.TempDir()
	torchZip(t, good, "pytorch_model.bin", benign, nil)
	writeFile(t, good, "README.md", card)
	var imp struct {
		State, Scan, License string
	}
	e.json(&imp, "model", "import", good, "--name", "good")
	if imp.State != "approved" || imp.Scan != "innocuous" || imp.License != "Apache-2.0" {
		t.Errorf("benign apache model: %+v", imp)
	}

	bad := t.TempDir()
	torchZip(t, bad, "pytorch_model.bin", evilPickle("builtins", "exec"), nil)
	writeFile(t, bad, "README.md", card)
	e.json(&imp, "model", "import", bad, "--name", "bad")
	if imp.State != "rejected" || imp.Scan != "dangerous" {
		t.Errorf("malicious model: %+v", imp)
	}

	nc := t.TempDir()
	torchZip(t, nc, "pytorch_model.bin", benign, nil)
	writeFile(t, nc, "README.md", []byte("---\nlicense: cc-by-nc-4.0\n---\n"))
	e.json(&imp, "model", "import", nc, "--name", "noncommercial")
	if imp.State != "rejected" {
		t.Errorf("non-commercial licence for a commercial organisation: %+v", imp)
	}

	// policy check explains every rule that fired.
	out := e.ok("policy", "check", "bad")
	if !strings.Contains(out, "deny") || !strings.Contains(out, "builtins") {
		t.Errorf("policy check does not explain: %s", out)
	}

	// A human decision stands over the policy, also after re-evaluation.
	e.ok("model", "approve", "noncommercial", "--reason", "research use only, signed off by legal")
	pol := writeFile(t, t.TempDir(), "policy.yaml", []byte(`
context:
  commercial: false
rules:
  - name: deny-dangerous
    when: scan.verdict == "dangerous"
    action: deny
    message: dangerous payload
  - name: everything-else-is-quarantined
    when: scan.verdict != "dangerous"
    action: quarantine
    message: strict mode
`))
	var applied []struct {
		Name      string `json:"name"`
		State     string `json:"state"`
		Disagrees bool   `json:"disagrees"`
	}
	e.json(&applied, "policy", "apply", pol)
	states := map[string]string{}
	for _, r := range applied {
		states[r.Name] = r.State
		if r.Name == "noncommercial" && !r.Disagrees {
			t.Errorf("disagreement with the human decision not reported: %+v", r)
		}
	}
	if states["good"] != "quarantined" || states["bad"] != "rejected" || states["noncommercial"] != "approved" {
		t.Errorf("after policy apply: %v", states)
	}
	// The applied policy stays in force for later imports.
	if out := e.ok("policy", "show"); !strings.Contains(out, "strict mode") {
		t.Errorf("policy show: %s", out)
	}
	var list []struct {
		Name, State string
	}
	e.json(&list, "model", "list")
	for _, m := range list {
		if m.State != states[m.Name] {
			t.Errorf("model list: %s is %s, want %s", m.Name, m.State, states[m.Name])
		}
	}
	e.fails(2, "model", "reject", "good") // --reason is required
	e.fails(2, "policy", "apply")         // no FILE
	badPol := writeFile(t, t.TempDir(), "bad.yaml", []byte("rules:\n  - name: x\n    when: scan.verdikt == 1\n    action: deny\n"))
	if r := e.fails(1, "policy", "apply", badPol); !strings.Contains(r.stderr, "x") {
		t.Errorf("a broken rule is not named: %s", r.stderr)
	}
	// The human decisions are in the audit log.
	if export := e.ok("audit", "export", "--since", "1h"); !strings.Contains(export, `"kind":"model.approve"`) || !strings.Contains(export, "signed off by legal") {
		t.Errorf("approval not audited")
	}
}
