package scan

// Report is the scan of a whole model: every file's result and the
// overall verdict, the most dangerous of them. It marshals to JSON as
// {"root", "verdict", "counts", "files"}.
type Report struct {
	// Root is what was scanned: a directory as given to Dir, or a model
	// name for reports built from Blob results.
	Root    string       `json:"root"`
	Verdict Safety       `json:"verdict"`
	Counts  Counts       `json:"counts"`
	Files   []FileResult `json:"files"`

	dir bool // Root is a directory on this machine (set by Dir)
}

// Counts summarises a report: files by verdict, and findings in all.
type Counts struct {
	Files      int `json:"files"`
	Innocuous  int `json:"innocuous"`
	Suspicious int `json:"suspicious"`
	Dangerous  int `json:"dangerous"`
	Findings   int `json:"findings"`
}

// NewReport builds a report from file results (e.g. from Blob, one per
// file of a model in the vault), in the order given.
func NewReport(root string, files ...FileResult) *Report {
	r := &Report{Root: root, Verdict: Innocuous, Files: make([]FileResult, 0, len(files))}
	for _, f := range files {
		r.Add(f)
	}
	return r
}

// Add appends one file's result and updates the verdict and counts.
func (r *Report) Add(f FileResult) {
	if f.Verdict == "" {
		f.Verdict = Innocuous
	}
	if f.Findings == nil {
		f.Findings = []Finding{}
	}
	r.Files = append(r.Files, f)
	r.Verdict = Max(r.Verdict, f.Verdict)
	r.Counts.Files++
	r.Counts.Findings += len(f.Findings)
	switch f.Verdict {
	case Dangerous:
		r.Counts.Dangerous++
	case Suspicious:
		r.Counts.Suspicious++
	default:
		r.Counts.Innocuous++
	}
}

// ExitCode is the process exit status for a CI pipeline: 0 when every
// file is innocuous, 1 when the worst is suspicious, 2 when dangerous.
func (r *Report) ExitCode() int {
	return Max(r.Verdict, Innocuous).Rank()
}
