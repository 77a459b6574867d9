package policy

// Facts is everything a policy rule can see about one model version. The
// gate fills it from the vault, the scanner and the licence identifier.
//
// In CEL the three parts are the variables model, scan and license, and
// the organisation's context (from the policy file) is org. Field names in
// CEL are the JSON names below, so `sov policy check --json` prints
// exactly what a rule sees. Integers are CEL int (signed), so a rule
// writes `model.parameters > 70000000000` without a u suffix.
type Facts struct {
	Model   Model   `json:"model"`
	Scan    Scan    `json:"scan"`
	License License `json:"license"`
}

// Model is what the vault records about a model version.
type Model struct {
	Name         string `json:"name"`         // reference name, "" when named by digest only
	Tag          string `json:"tag"`          // reference tag
	Digest       string `json:"digest"`       // manifest digest, "sha256:…"
	Format       string `json:"format"`       // main weight format: "gguf", "safetensors", "pytorch", …
	Architecture string `json:"architecture"` // e.g. "llama"
	Parameters   int64  `json:"parameters"`   // parameter count, 0 when unknown
	Quantization string `json:"quantization"` // e.g. "Q4_K_M", "" when none
	// Multimodal is true when the model shows signs of taking images or
	// audio (a vision architecture, an mmproj file, a vision pipeline
	// tag); a heuristic, used for licence exclusions scoped to
	// multimodal models.
	Multimodal bool   `json:"multimodal"`
	Files      []File `json:"files"`
	// Source is where the model came from: a path, an hf:// reference or
	// a URL ("import" for a local import with no recorded origin).
	Source string `json:"source"`
	Card   Card   `json:"card"`
}

// File is one file of a model.
type File struct {
	Path   string `json:"path"`   // path in the model, slash-separated
	Format string `json:"format"` // kind by content, e.g. "gguf", "safetensors", "pickle", "license"
	Size   int64  `json:"size"`
}

// Card is what the model card (and GGUF general.* keys) claim. Nothing
// here is verified: a card's licence tag is wrong more often than not,
// which is why License is identified separately.
type Card struct {
	License           string   `json:"license"`
	BaseModel         []string `json:"base_model"`
	BaseModelRelation string   `json:"base_model_relation"` // "finetune", "quantized", "merge", "adapter", …
	Datasets          []string `json:"datasets"`
	Tags              []string `json:"tags"`
}

// Scan is the scanner's report on every file of the model.
type Scan struct {
	// Verdict is the most dangerous level found: "innocuous",
	// "suspicious" or "dangerous".
	Verdict  string     `json:"verdict"`
	Findings []Finding  `json:"findings"`
	Imports  []Import   `json:"imports"` // every pickle global, from every file
	Files    []ScanFile `json:"files"`
}

// Finding is one problem the scanner found.
type Finding struct {
	Rule     string `json:"rule"`     // e.g. "pickle.import", "zip.crc-mismatch"
	Severity string `json:"severity"` // "innocuous", "suspicious" or "dangerous"
	Message  string `json:"message"`
	Path     string `json:"path"`     // the model file
	Location string `json:"location"` // where in the file: member, offset, key
}

// Import is one global a pickle would import or call.
type Import struct {
	Module string `json:"module"`
	Name   string `json:"name"`
	Safety string `json:"safety"` // "innocuous", "suspicious" or "dangerous"
	Path   string `json:"path"`   // the model file
}

// ScanFile is the scanner's verdict on one file.
type ScanFile struct {
	Path    string `json:"path"`
	Format  string `json:"format"` // by content
	Verdict string `json:"verdict"`
}

// License is the identified licence and its obligations.
type License struct {
	// ID is the licence's identifier in sov's knowledge base (SPDX where
	// one exists, e.g. "Apache-2.0", "llama3.1"); several are joined by
	// ", ". When nothing known is identified it is the first unknown name
	// a source gives, or "".
	ID string `json:"id"`
	// Known is true when every source identifies a licence in the
	// knowledge base (or says nothing); Unknown says what did not.
	Known   bool     `json:"known"`
	Unknown []string `json:"unknown"`
	// Family groups related licences: "permissive", "copyleft",
	// "llama", "openrail", …
	Family string `json:"family"`
	// CommercialUse is false when any identified licence forbids
	// commercial use (obligations of several licences are combined, the
	// strictest winning).
	CommercialUse bool `json:"commercial_use"`
	// UserCap is the monthly-active-user count above which the licence
	// requires a separate grant (Llama: 700000000); 0 when none.
	UserCap int64 `json:"user_cap"`
	// Attribution is what must be displayed or kept ("Built with Llama");
	// "" when nothing beyond the notice.
	Attribution string `json:"attribution"`
	// NamingRule is what the licence says about derivatives' names;
	// NamePrefix what they must begin with ("Llama"). "" when none.
	NamingRule string `json:"naming_rule"`
	NamePrefix string `json:"name_prefix"`
	// AUP refers to an acceptable-use policy the licence binds users to;
	// "" when none.
	AUP string `json:"aup"`
	// OutputsTrainingRestriction is true when the licence restricts using
	// the model's outputs to train other models.
	OutputsTrainingRestriction bool `json:"outputs_training_restriction"`
	// RegionalExclusions are jurisdictions the licence grant excludes for
	// this model (e.g. "eu"), lower case. An exclusion limited to
	// multimodal models applies only when Model.Multimodal is set.
	RegionalExclusions []string `json:"regional_exclusions"`
	// Disagreement is true when the sources name different licences (a
	// Llama fine-tune whose card says apache-2.0).
	Disagreement bool            `json:"disagreement"`
	Sources      []LicenseSource `json:"sources"`
}

// LicenseSource is what one source says the licence is.
type LicenseSource struct {
	// Source names where: "license_file:LICENSE", "model_card:license",
	// "gguf:general.license".
	Source string `json:"source"`
	// ID is what the source names: knowledge-base IDs (joined by the
	// expression's operator, or ", "), else the raw value, else "unknown".
	ID string `json:"id"`
}

// Org is the organisation's context from the policy file, the CEL
// variable org.
type Org struct {
	// Commercial is true unless the file says commercial: false.
	Commercial         bool   `json:"commercial"`
	MonthlyActiveUsers int64  `json:"monthly_active_users"` // 0: not stated
	Jurisdiction       string `json:"jurisdiction"`         // e.g. "eu", "us"; lower case
	// Attributes are free facts for custom rules: strings, numbers
	// (int64 or float64), booleans, lists and maps with string keys.
	Attributes map[string]any `json:"attributes"`
}
