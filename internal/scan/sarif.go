package scan

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// SARIF 2.1.0 (OASIS) identifiers.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// sarifRootBase is the uriBaseId every artifact URI is relative to:
	// the scanned directory.
	sarifRootBase = "SCANROOT"
)

// ruleDescriptions are the one-line descriptions of the scanner's rules,
// for SARIF and for people. Rules without an entry fall back to their
// family's (the part before the first dot).
var ruleDescriptions = map[string]string{
	"format.mismatch":     "The file's name claims one format but its content is another.",
	"format.unrecognised": "The content matches no format the scanner knows, so nothing vouches for it.",
	"code.python":         "Python source that loaders run with trust_remote_code.",
	"config.remote-code":  "A config's auto_map makes transformers import Python code from the repository.",
	"json.too-large":      "A JSON file is larger than the scanner checks, so it could hide remote code or templates.",

	"fs.symlink-escape":   "A symbolic link points outside the scanned directory.",
	"fs.symlink-broken":   "A symbolic link cannot be resolved.",
	"fs.symlink-dir":      "A symbolic link to a directory inside the scanned directory.",
	"fs.special-file":     "A device, FIFO or socket in a model directory.",
	"fs.unreadable":       "A file could not be read, so it was not scanned.",
	"fs.too-many-files":   "The directory holds more files than the scan limit.",
	"hdf5.partial-scan":   "A large HDF5 file was searched only in part.",
	"keras.lambda":        "A Keras Lambda layer: marshalled Python bytecode runs at load time.",
	"keras.custom-object": "A Keras config names a class or function from outside keras.",
	"keras.config":        "A Keras archive's config.json is missing or unreadable.",

	"safetensors.header-too-large": "The safetensors header is larger than the format allows.",
	"safetensors.truncated":        "The safetensors file is shorter than its header says.",
	"safetensors.malformed":        "The safetensors header is not valid UTF-8 JSON.",
	"safetensors.not-object":       "The safetensors header is not a JSON object.",
	"safetensors.trailing-data":    "Bytes other than padding follow the safetensors header.",
	"safetensors.duplicate-key":    "A key is repeated in the safetensors header; loaders disagree on which wins.",
	"safetensors.metadata-type":    "__metadata__ is not a map of strings.",
	"safetensors.tensor-entry":     "A tensor entry lacks a valid dtype, shape or data_offsets.",
	"safetensors.out-of-range":     "A tensor's byte range lies outside the data buffer.",
	"safetensors.size-mismatch":    "A tensor's byte range does not match its dtype and shape.",
	"safetensors.overlap":          "Two tensors share bytes.",
	"safetensors.gap":              "Bytes in the data buffer belong to no tensor: room for a hidden payload.",
	"safetensors.invalid":          "The safetensors file fails validation.",
	"safetensors.index-path":       "A sharded checkpoint's index names a shard outside the model directory.",
	"safetensors.index-missing":    "A sharded checkpoint's index names a shard the model does not have.",

	"gguf.tensor-out-of-bounds": "A GGUF tensor's data lies outside the file.",
	"gguf.tensor-overlap":       "Two GGUF tensors share bytes.",
	"gguf.malformed":            "The GGUF file fails validation.",
	"gguf.limits":               "GGUF counts or lengths far beyond real model files.",
	"gguf.gap":                  "Bytes in the GGUF data section belong to no tensor: room for a hidden payload.",
	"gguf.template-type":        "A GGUF chat template key does not hold a string.",

	"template.dunder":            "A chat template accesses dunder attributes: a sandbox escape.",
	"template.dunder-string":     "A chat template spells or assembles dunder gadget names in strings.",
	"template.python-internal":   "A chat template reaches Python frames, code or modules.",
	"template.attr-filter":       "A chat template uses the attr filter to read attributes by name.",
	"template.import":            "A chat template imports, includes or extends other templates.",
	"template.private-attr":      "A chat template reads private attributes.",
	"template.computed-attr":     "A chat template subscripts with keys built at render time.",
	"template.escape-global":     "A chat template uses globals that injection payloads start from.",
	"template.unknown-global":    "A chat template names Python builtins or modules.",
	"template.unknown-statement": "A chat template uses a statement outside jinja2's own set.",
	"template.char-building":     "A chat template builds names character by character.",
	"template.resource":          "A chat template would exhaust time or memory when rendered.",
	"template.size":              "A chat template is far larger than real ones.",
	"template.hidden-chars":      "A chat template holds invisible or control characters.",
	"template.dunder-text":       "A chat template mentions dunder gadgets outside its code.",
	"template.malformed":         "A chat template that jinja2 would reject.",
	"template.unsupported":       "A chat template sov's own engine cannot parse.",

	"onnx.external-path":    "ONNX external data points outside the model directory.",
	"onnx.external-missing": "ONNX external data names a file the model does not have.",
	"onnx.external-range":   "ONNX external data offsets run past the end of their file.",
	"onnx.external-data":    "ONNX external data without a location.",
	"onnx.malformed":        "The ONNX protobuf cannot be walked.",

	"pickle.import":         "A pickle imports or calls a Python global.",
	"pickle.dynamic-import": "A pickle imports a global whose name is computed at load time.",
	"pickle.unparsable":     "A pickle the emulator cannot parse.",
	"pickle.ext-code":       "A pickle uses the extension registry, resolved only at load time.",
	"zip.crc-mismatch":      "A zip member's CRC does not match its data.",
	"zip.duplicate-name":    "A zip archive holds two members with the same name.",
	"zip.path-escape":       "A zip member's path leaves the extraction directory.",
	"zip.encrypted":         "A zip member is encrypted and cannot be inspected.",
	"zip.bomb":              "A zip member decompresses far beyond its size.",
}

// familyDescriptions describe rules by family when a rule has no entry.
var familyDescriptions = map[string]string{
	"pickle":      "A problem found by the pickle emulator.",
	"zip":         "A problem with a zip archive's structure.",
	"numpy":       "A problem with a NumPy array file.",
	"container":   "A problem with an archive holding pickles.",
	"safetensors": "A problem with a safetensors file's structure.",
	"gguf":        "A problem with a GGUF file's structure.",
	"template":    "A template-injection pattern in a chat template.",
	"onnx":        "A problem with an ONNX model's external data.",
	"keras":       "A problem with a Keras model.",
	"fs":          "A problem with the model directory.",
	"format":      "A problem with the file's format.",
}

// RuleDescription returns a one-line description of a finding's rule.
func RuleDescription(rule string) string {
	if d, ok := ruleDescriptions[rule]; ok {
		return d
	}
	fam, _, _ := strings.Cut(rule, ".")
	if d, ok := familyDescriptions[fam]; ok {
		return d
	}
	return "Finding " + rule + "."
}

// sarifLevel maps a severity to a SARIF result level.
func sarifLevel(s Safety) string {
	switch s {
	case Dangerous:
		return "error"
	case Suspicious:
		return "warning"
	}
	return "note"
}

// SARIF wire types: only the properties sov fills.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool               sarifTool                   `json:"tool"`
		OriginalURIBaseIDs map[string]sarifArtifactLoc `json:"originalUriBaseIds,omitempty"`
		Results            []sarifResult               `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string        `json:"id"`
		ShortDescription sarifText     `json:"shortDescription"`
		DefaultConfig    sarifRuleConf `json:"defaultConfiguration"`
	}
	sarifRuleConf struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID     string          `json:"ruleId"`
		RuleIndex  int             `json:"ruleIndex"`
		Level      string          `json:"level"`
		Message    sarifText       `json:"message"`
		Locations  []sarifLocation `json:"locations"`
		Properties *sarifResProps  `json:"properties,omitempty"`
	}
	sarifResProps struct {
		Severity Safety `json:"severity"`
		Format   string `json:"format,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical  `json:"physicalLocation"`
		LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifactLoc `json:"artifactLocation"`
		Region           *sarifRegion     `json:"region,omitempty"`
	}
	sarifArtifactLoc struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	sarifRegion struct {
		ByteOffset int64 `json:"byteOffset"`
		ByteLength int64 `json:"byteLength"`
	}
	sarifLogical struct {
		FullyQualifiedName string `json:"fullyQualifiedName"`
	}
)

// SARIF renders the report as a SARIF 2.1.0 log with one run: the tool
// "sov", one rule per finding rule present (id, short description,
// default level by its worst severity), and one result per finding with
// level error (dangerous), warning (suspicious) or note (innocuous). The
// file is the artifactLocation, a URI relative to the scanned root
// (uriBaseId SCANROOT, resolved in originalUriBaseIds when the root is a
// directory path); a finding located at "offset N" gets a one-byte
// region there, any other location a logical location.
func (r *Report) SARIF() ([]byte, error) {
	worst := map[string]Safety{}
	for _, f := range r.Files {
		for _, fd := range f.Findings {
			worst[fd.Rule] = Max(worst[fd.Rule], fd.Severity)
		}
	}
	ids := make([]string, 0, len(worst))
	for id := range worst {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	index := make(map[string]int, len(ids))
	rules := make([]sarifRule, len(ids))
	for i, id := range ids {
		index[id] = i
		rules[i] = sarifRule{ID: id, ShortDescription: sarifText{RuleDescription(id)},
			DefaultConfig: sarifRuleConf{sarifLevel(worst[id])}}
	}
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "sov", Rules: rules}},
		Results: []sarifResult{},
	}
	if base, ok := rootURI(r.Root); ok && r.dir {
		run.OriginalURIBaseIDs = map[string]sarifArtifactLoc{sarifRootBase: {URI: base}}
	}
	for _, f := range r.Files {
		uri := (&url.URL{Path: f.Path}).String()
		if f.Path == "." || f.Path == "" {
			uri = "."
		}
		for _, fd := range f.Findings {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifactLoc{URI: uri, URIBaseID: sarifRootBase},
			}}
			if off, ok := offsetLocation(fd.Location); ok {
				loc.PhysicalLocation.Region = &sarifRegion{ByteOffset: off, ByteLength: 1}
			} else if fd.Location != "" {
				loc.LogicalLocations = []sarifLogical{{FullyQualifiedName: fd.Location}}
			}
			msg := fd.Message
			if fd.Location != "" {
				msg += " (" + fd.Location + ")"
			}
			run.Results = append(run.Results, sarifResult{
				RuleID:     fd.Rule,
				RuleIndex:  index[fd.Rule],
				Level:      sarifLevel(fd.Severity),
				Message:    sarifText{msg},
				Locations:  []sarifLocation{loc},
				Properties: &sarifResProps{Severity: fd.Severity, Format: f.Format},
			})
		}
	}
	return json.MarshalIndent(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}, "", "  ")
}

// offsetLocation parses a finding location of the form "offset N".
func offsetLocation(loc string) (int64, bool) {
	rest, ok := strings.CutPrefix(loc, "offset ")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n >= 0
}

// rootURI is the file URI of a directory root (ending in "/"), when root
// is a path on this machine.
func rootURI(root string) (string, bool) {
	if root == "" {
		return "", false
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", false
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive paths: file:///C:/...
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return (&url.URL{Scheme: "file", Path: p}).String(), true
}
