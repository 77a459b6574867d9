// Package scan decides whether a model's files are safe to load: it
// identifies every file by its content (never its name), emulates pickle
// programs without executing them, checks containers (PyTorch zip and tar,
// NumPy, joblib, 7z), safetensors and GGUF structure, GGUF chat templates,
// Keras archives and ONNX external data, and reports per file in the shape
// the Hugging Face Hub uses (pickleImportScan) plus an overall verdict.
//
// It fails closed: anything it cannot parse is a finding, never "safe".
// It never executes, imports or deserialises what it scans, and bounds
// every allocation by what is left of the input.
package scan

// Safety is how dangerous a finding or an import is, in the Hub's terms.
type Safety string

const (
	Innocuous  Safety = "innocuous"
	Suspicious Safety = "suspicious"
	Dangerous  Safety = "dangerous"
)

// Rank orders safety levels: innocuous 0 < suspicious 1 < dangerous 2.
func (s Safety) Rank() int {
	switch s {
	case Dangerous:
		return 2
	case Suspicious:
		return 1
	}
	return 0
}

// Max returns the more dangerous of a and b.
func Max(a, b Safety) Safety {
	if b.Rank() > a.Rank() {
		return b
	}
	if a == "" {
		return Innocuous
	}
	return a
}

// Import is one global a pickle would import or call.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Safety Safety `json:"safety"`
}

// PickleImportScan is the Hub's per-file pickle result.
type PickleImportScan struct {
	HighestSafetyLevel Safety   `json:"highestSafetyLevel"`
	Imports            []Import `json:"imports"`
}

// Finding is one problem found in a file.
type Finding struct {
	// Rule names the check, e.g. "pickle.import", "pickle.unparsable",
	// "zip.crc-mismatch", "gguf.template-injection", "format.mismatch".
	Rule     string `json:"rule"`
	Severity Safety `json:"severity"`
	Message  string `json:"message"`
	// Location says where: an archive member ("archive/data.pkl"), a byte
	// offset ("offset 1234"), a tensor or metadata key.
	Location string `json:"location,omitempty"`
}

// FileResult is the scan of one file.
type FileResult struct {
	Path   string `json:"path"` // relative to the scanned root, slash-separated
	Size   int64  `json:"size"`
	Format string `json:"format"` // from the content, e.g. "gguf", "pytorch-zip", "pickle", "safetensors"
	// Claimed is the format the name suggests ("" when the name says
	// nothing); a mismatch with Format is itself a finding.
	Claimed          string            `json:"claimed,omitempty"`
	PickleImportScan *PickleImportScan `json:"pickleImportScan,omitempty"`
	Findings         []Finding         `json:"findings"`
	Verdict          Safety            `json:"verdict"`
}

// Add records a finding and raises the verdict.
func (r *FileResult) Add(f Finding) {
	r.Findings = append(r.Findings, f)
	r.Verdict = Max(r.Verdict, f.Severity)
}
