package scan

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/pickle"
	"sov.dev/sov/internal/pickle/pickletest"
)

// pfScan runs ScanPickleFamily on b and returns the result.
func pfScan(t *testing.T, b []byte, kind string) *FileResult {
	t.Helper()
	res := &FileResult{Findings: []Finding{}, Verdict: Innocuous}
	if err := ScanPickleFamily(context.Background(), bytes.NewReader(b), int64(len(b)), kind, res); err != nil {
		t.Fatalf("ScanPickleFamily: %v", err)
	}
	return res
}

// pfRules lists the distinct rules of a result's findings, sorted.
func pfRules(res *FileResult) []string {
	var rules []string
	for _, f := range res.Findings {
		if !slices.Contains(rules, f.Rule) {
			rules = append(rules, f.Rule)
		}
	}
	slices.Sort(rules)
	return rules
}

func pfDescribe(res *FileResult) string {
	var b strings.Builder
	for _, f := range res.Findings {
		b.WriteString("\n  " + string(f.Severity) + " " + f.Rule + " @" + f.Location + ": " + f.Message)
	}
	return b.String()
}

// TestPickleGadgets covers each way a pickle can reach a global.
func TestPickleGadgets(t *testing.T) {
	b := pickletest.New
	tests := []struct {
		name    string
		in      []byte
		verdict Safety
		rules   []string
	}{
		{"GLOBAL + REDUCE", b().Global("os", "system").Call("id").Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"protocol 0 builtins via __builtin__", b().Global("__builtin__", "eval").Call("1").Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"STACK_GLOBAL from strings", b().Proto(4).StackGlobal("builtins", "exec").Call("x").Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"STACK_GLOBAL from the memo", b().Proto(4).Str("runpy").Put(0).Str("run_path").Put(1).
			Op(pickle.POP, pickle.POP).Get(0).Get(1).Op(pickle.STACK_GLOBAL).Call("x").Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"STACK_GLOBAL via MEMOIZE", b().Proto(4).Str("pip").Op(pickle.MEMOIZE).Str("main").Op(pickle.MEMOIZE).
			Op(pickle.POP, pickle.POP).Get(0).Get(1).Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"dynamic STACK_GLOBAL", b().Proto(4).Global("collections", "OrderedDict").Call().
			Str("x").Op(pickle.STACK_GLOBAL).Stop().Bytes(),
			Dangerous, []string{"pickle.dynamic-import"}},
		{"INST", b().Op(pickle.MARK).Str("id").Inst("subprocess", "check_output").Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"OBJ", b().Op(pickle.MARK).Global("webbrowser", "open").Str("http://x").Op(pickle.OBJ).Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"NEWOBJ", b().Proto(2).Global("socket", "socket").Op(pickle.EMPTY_TUPLE, pickle.NEWOBJ).Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"NEWOBJ_EX", b().Proto(4).StackGlobal("ctypes", "CDLL").Op(pickle.EMPTY_TUPLE, pickle.EMPTY_DICT, pickle.NEWOBJ_EX).Stop().Bytes(),
			Dangerous, []string{"pickle.import"}},
		{"REDUCE chain through getattr", b().Proto(2).Global("builtins", "getattr").
			Global("collections", "OrderedDict").Str("fromkeys").Op(pickle.TUPLE2, pickle.REDUCE).Call("x").Stop().Bytes(),
			Dangerous, []string{"pickle.computed-call", "pickle.import"}},
		{"BUILD with __setstate__ of an unknown class", b().Proto(2).Global("mylib", "Model").Op(pickle.EMPTY_TUPLE, pickle.NEWOBJ).
			Op(pickle.EMPTY_DICT, pickle.BUILD).Stop().Bytes(),
			Suspicious, []string{"pickle.import"}},
		{"BUILD setting attributes on an allowed class", b().Proto(2).Global("collections", "OrderedDict").
			Op(pickle.NONE, pickle.EMPTY_DICT).Str("__reduce__").Op(pickle.NONE, pickle.SETITEM, pickle.TUPLE2, pickle.BUILD).Stop().Bytes(),
			Dangerous, []string{"pickle.build-on-global"}},
		{"extension code", b().Proto(2).Raw(byte(pickle.EXT1), 42).Call("x").Stop().Bytes(),
			Suspicious, []string{"pickle.computed-call", "pickle.ext-code"}},
		{"persistent id in a plain pickle", b().Proto(2).Str("key").Op(pickle.BINPERSID).Stop().Bytes(),
			Suspicious, []string{"pickle.persistent-id"}},
		{"benign look-alike module", b().Proto(2).Global("os_utils", "run").Stop().Bytes(),
			Suspicious, []string{"pickle.import"}},
		{"allow-listed name with a trailing space", b().Proto(2).Global("collections", "OrderedDict ").Op(pickle.EMPTY_TUPLE, pickle.REDUCE).Stop().Bytes(),
			Suspicious, []string{"pickle.import"}},
		{"benign OrderedDict", b().Proto(2).Global("collections", "OrderedDict").Op(pickle.EMPTY_TUPLE, pickle.REDUCE).Stop().Bytes(),
			Innocuous, nil},
		{"truncated", b().Proto(2).Global("collections", "OrderedDict").Bytes(),
			Dangerous, []string{"pickle.unparsable"}},
		{"garbage after a benign pickle", append(b().Proto(2).Op(pickle.NONE).Stop().Bytes(), 0xde, 0xad),
			Dangerous, []string{"pickle.unparsable"}},
		{"a second pickle with a gadget", append(b().Proto(2).Op(pickle.NONE).Stop().Bytes(),
			b().Proto(2).Global("os", "system").Stop().Bytes()...),
			Dangerous, []string{"pickle.import"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := pfScan(t, tt.in, "pickle")
			if res.Verdict != tt.verdict {
				t.Errorf("verdict = %s, want %s%s", res.Verdict, tt.verdict, pfDescribe(res))
			}
			if diff := cmp.Diff(tt.rules, pfRules(res)); diff != "" {
				t.Errorf("rules (-want +got):\n%s%s", diff, pfDescribe(res))
			}
			if res.PickleImportScan == nil {
				t.Fatal("no pickleImportScan")
			}
			// The Hub's level covers imports only; it is never below the
			// most dangerous import finding.
			for _, f := range res.Findings {
				if f.Rule == "pickle.import" && res.PickleImportScan.HighestSafetyLevel.Rank() < f.Severity.Rank() {
					t.Errorf("highestSafetyLevel %s below finding %s", res.PickleImportScan.HighestSafetyLevel, f.Severity)
				}
			}
		})
	}
}

func TestPickleImportScanShape(t *testing.T) {
	in := pickletest.New().Proto(2).Global("collections", "OrderedDict").Op(pickle.POP).
		Global("torch._utils", "_rebuild_tensor_v2").Op(pickle.POP).Global("os", "system").Stop().Bytes()
	res := pfScan(t, in, "pickle")
	want := &PickleImportScan{HighestSafetyLevel: Dangerous, Imports: []Import{
		{"collections", "OrderedDict", Innocuous},
		{"os", "system", Dangerous},
		{"torch._utils", "_rebuild_tensor_v2", Innocuous},
	}}
	if diff := cmp.Diff(want, res.PickleImportScan); diff != "" {
		t.Errorf("pickleImportScan (-want +got):\n%s", diff)
	}
	if f := res.Findings[0]; f.Location != "offset 62" || !strings.Contains(f.Message, "os.system") {
		t.Errorf("finding = %+v, want os.system at offset 62", f)
	}
}
