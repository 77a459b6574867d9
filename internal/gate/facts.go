package gate

import (
	"context"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"

	"sov.dev/sov/internal/filetype"
	"sov.dev/sov/internal/license"
	"sov.dev/sov/internal/modelinfo"
	"sov.dev/sov/internal/policy"
	"sov.dev/sov/internal/scan"
	"sov.dev/sov/internal/vault"
)

// maxLicenseFiles bounds how many licence files are read (each up to
// license.MaxText bytes), so that a model of ten thousand "LICENSE" files
// cannot make the gate read gigabytes.
const maxLicenseFiles = 64

// scanModel scans every file of a model version from the blob store.
func (g *Gate) scanModel(ctx context.Context, info *vault.Info) (*scan.Report, error) {
	sizes := make(map[string]int64, len(info.Files))
	for _, f := range info.Files {
		sizes[f.Path] = f.Size
	}
	opts := scan.Options{Sibling: func(p string) (int64, bool) {
		s, ok := sizes[p]
		return s, ok
	}}
	bs := g.Vault.Blobs()
	report := scan.NewReport(displayName(info))
	for _, f := range info.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := bs.Open(ctx, f.Digest)
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w (run `sov model verify`)", f.Path, err)
		}
		res, err := scan.Blob(ctx, f.Path, r, f.Size, opts)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", f.Path, err)
		}
		report.Add(*res)
	}
	return report, nil
}

func displayName(info *vault.Info) string {
	if info.Name != "" {
		return info.Name + ":" + info.Tag
	}
	return info.Digest.String()
}

// identifyLicense gathers the licence sources of a model version: its
// licence files, its top-level model card and its main GGUF file's
// general.license* keys.
func (g *Gate) identifyLicense(ctx context.Context, info *vault.Info) (license.Result, error) {
	var src license.Sources
	for _, f := range info.Files {
		if f.Kind == filetype.KindLicense && len(src.Files) < maxLicenseFiles {
			content, err := readBlob(ctx, g.Vault.Blobs(), f.Digest, license.MaxText+1) // +1: IdentifyText notes a truncated text
			if err != nil {
				return license.Result{}, fmt.Errorf("reading licence file %s: %w (run `sov model verify`)", f.Path, err)
			}
			src.Files = append(src.Files, license.File{Name: f.Path, Content: content})
		}
		if c := f.ModelCard; c != nil && path.Dir(f.Path) == "." && src.Card == nil {
			tags := license.Tags{License: c.Licenses, Name: c.LicenseName, Link: c.LicenseLink}
			if len(tags.License) == 0 && c.License != "" {
				tags.License = []string{c.License}
			}
			if len(tags.License) > 0 || tags.Name != "" || tags.Link != "" {
				src.Card = &tags
			}
		}
	}
	// The file the engine loads, whose metadata was read at import.
	if m := modelinfo.MainGGUF(info.Files); m != nil && m.GGUF != nil {
		str := func(k string) string {
			s, _ := m.GGUF.General[k].(string)
			return strings.TrimSpace(s)
		}
		tags := license.Tags{Name: str("license.name"), Link: str("license.link")}
		if l := str("license"); l != "" {
			tags.License = []string{l}
		}
		if len(tags.License) > 0 || tags.Name != "" || tags.Link != "" {
			src.GGUF = &tags
		}
	}
	return license.Identify(src), nil
}

// buildFacts turns what the vault, the scanner and the licence identifier
// found into the facts policy rules see.
func buildFacts(info *vault.Info, report *scan.Report, lic license.Result) policy.Facts {
	m := policy.Model{
		Name:         info.Name,
		Tag:          info.Tag,
		Digest:       info.Digest.String(),
		Format:       info.Format,
		Architecture: info.Architecture,
		Parameters:   int64(min(info.ParameterCount, math.MaxInt64)),
		Quantization: info.Quantization,
		Files:        make([]policy.File, 0, len(info.Files)),
		Source:       info.Source,
		Card: policy.Card{
			BaseModel:         info.BaseModels,
			BaseModelRelation: info.BaseModelRelation,
			Datasets:          info.Datasets,
			Tags:              info.Tags,
		},
	}
	for _, f := range info.Files {
		m.Files = append(m.Files, policy.File{Path: f.Path, Format: string(f.Kind), Size: f.Size})
		if c := f.ModelCard; c != nil && path.Dir(f.Path) == "." && m.Card.License == "" {
			m.Card.License = c.License
			if (c.License == "" || c.License == "other") && c.LicenseName != "" {
				m.Card.License = c.LicenseName
			}
		}
	}
	m.Multimodal = multimodal(info)
	return policy.Facts{Model: m, Scan: scanFacts(report), License: licenseFacts(lic, m.Multimodal)}
}

func scanFacts(r *scan.Report) policy.Scan {
	s := policy.Scan{
		Verdict:  string(scan.Max(r.Verdict, scan.Innocuous)),
		Findings: []policy.Finding{},
		Imports:  []policy.Import{},
		Files:    make([]policy.ScanFile, 0, len(r.Files)),
	}
	for _, f := range r.Files {
		s.Files = append(s.Files, policy.ScanFile{Path: f.Path, Format: f.Format, Verdict: string(scan.Max(f.Verdict, scan.Innocuous))})
		for _, x := range f.Findings {
			s.Findings = append(s.Findings, policy.Finding{
				Rule: x.Rule, Severity: string(x.Severity), Message: x.Message, Path: f.Path, Location: x.Location,
			})
		}
		if p := f.PickleImportScan; p != nil {
			for _, im := range p.Imports {
				s.Imports = append(s.Imports, policy.Import{Module: im.Module, Name: im.Name, Safety: string(im.Safety), Path: f.Path})
			}
		}
	}
	return s
}

// multimodal looks for signs that a model takes images or audio.
func multimodal(info *vault.Info) bool {
	arch := strings.ToLower(info.Architecture)
	for _, a := range []string{"mllama", "llava", "vision", "llama4", "qwen2vl", "qwen2_vl", "qwen2_5_vl", "idefics", "paligemma", "gemma3", "pixtral", "clip", "whisper"} {
		if strings.Contains(arch, a) {
			return true
		}
	}
	switch info.PipelineTag {
	case "image-text-to-text", "image-to-text", "visual-question-answering", "any-to-any", "video-text-to-text", "automatic-speech-recognition":
		return true
	}
	for _, t := range info.Tags {
		switch strings.ToLower(t) {
		case "vision", "multimodal", "image-text-to-text", "vision-language":
			return true
		}
	}
	for _, f := range info.Files {
		if strings.Contains(strings.ToLower(path.Base(f.Path)), "mmproj") {
			return true
		}
		if f.GGUF != nil && strings.EqualFold(f.GGUF.Architecture, "clip") {
			return true
		}
	}
	return false
}

// licenseFacts combines what the licence identifier found into one
// licence for the policy. Where several licences may apply (a licence
// list, or sources that disagree), their obligations are combined with
// the strictest winning: a Llama fine-tune whose card says apache-2.0
// still carries Llama's user cap and attribution.
func licenseFacts(r license.Result, multimodal bool) policy.License {
	out := policy.License{Unknown: []string{}, RegionalExclusions: []string{}, Sources: []policy.LicenseSource{}}
	for _, f := range r.Findings {
		out.Sources = append(out.Sources, policy.LicenseSource{Source: sourceName(f), ID: findingID(f)})
		if why := unknownSource(f); why != "" {
			out.Unknown = append(out.Unknown, why)
		}
	}
	out.Disagreement = len(r.Disagreements) > 0
	known := r.Licenses
	if len(known) == 0 {
		if len(out.Unknown) == 0 {
			out.Unknown = append(out.Unknown, "no licence file, model card licence or GGUF licence names one")
		}
		for _, f := range r.Findings {
			if len(f.UnknownParts) > 0 {
				out.ID = f.UnknownParts[0]
				break
			}
			if f.Raw != "" && out.ID == "" {
				out.ID = f.Raw
			}
		}
		return out
	}
	for _, id := range r.Candidates {
		if !slices.ContainsFunc(known, func(l license.License) bool { return l.ID == id }) {
			out.Unknown = append(out.Unknown, fmt.Sprintf("%s is not in the knowledge base", id))
		}
	}
	out.Known = len(out.Unknown) == 0

	var ids, families, attrib, naming, prefixes, aups []string
	out.CommercialUse = true
	several := len(known) > 1
	label := func(l license.License, s string) string {
		if several {
			return l.ID + ": " + s
		}
		return s
	}
	for _, l := range known {
		o := l.Obligations
		ids = append(ids, l.ID)
		families = appendUnique(families, string(l.Family))
		if o.CommercialUse == license.CommercialNotAllowed {
			out.CommercialUse = false
		}
		if o.UserCap > 0 && (out.UserCap == 0 || o.UserCap < out.UserCap) {
			out.UserCap = o.UserCap
		}
		switch {
		case len(o.AttributionText) > 0:
			attrib = append(attrib, label(l, "display "+quoteJoin(o.AttributionText, " or ")))
		case o.AttributionNote != "":
			attrib = append(attrib, label(l, o.AttributionNote))
		}
		switch {
		case o.NamingRule != "":
			naming = append(naming, label(l, o.NamingRule))
		case o.NamePrefix != "":
			naming = append(naming, label(l, fmt.Sprintf("derivative names must begin with %q", o.NamePrefix)))
		}
		if o.NamePrefix != "" {
			prefixes = appendUnique(prefixes, o.NamePrefix)
		}
		switch {
		case o.AcceptableUsePolicyRef != "":
			aups = appendUnique(aups, o.AcceptableUsePolicyRef)
		case o.AcceptableUsePolicy:
			aups = appendUnique(aups, l.ID+" acceptable-use policy")
		}
		out.OutputsTrainingRestriction = out.OutputsTrainingRestriction || o.OutputsTrainingRestriction
		for _, ex := range o.RegionalExclusions {
			if !multimodal && strings.Contains(strings.ToLower(ex.Scope), "multimodal") {
				continue
			}
			for _, j := range ex.Jurisdictions {
				out.RegionalExclusions = appendUnique(out.RegionalExclusions, strings.ToLower(j))
			}
		}
	}
	out.ID = strings.Join(ids, ", ")
	out.Family = strings.Join(families, ", ")
	out.Attribution = strings.Join(attrib, "; ")
	out.NamingRule = strings.Join(naming, "; ")
	out.NamePrefix = strings.Join(prefixes, ", ")
	out.AUP = strings.Join(aups, ", ")
	return out
}

// sourceName names a finding's source for people: "license_file:LICENSE".
func sourceName(f license.Finding) string {
	return string(f.Source) + ":" + f.Name
}

// findingID says what a finding names.
func findingID(f license.Finding) string {
	switch {
	case len(f.IDs) > 0:
		sep := ", "
		if f.Operator != "" {
			sep = " " + f.Operator + " "
		}
		return strings.Join(f.IDs, sep)
	case f.Raw != "":
		return f.Raw
	}
	return "unknown"
}

// unknownSource says why a finding leaves the licence unknown, or "".
// Notice and copyright files that match no licence are not licences and
// leave it known; any other licence file, and any tag, that names
// something outside the knowledge base makes it unknown: a custom licence
// beside an apache-2.0 tag is exactly the case a person must read.
func unknownSource(f license.Finding) string {
	switch f.Source {
	case license.SourceFile:
		if !f.Unknown {
			return ""
		}
		base := strings.ToLower(path.Base(f.Name))
		if strings.Contains(base, "notice") || strings.Contains(base, "copyright") {
			return ""
		}
		why := f.Reason
		if why == "" {
			why = "no licence in the knowledge base matched"
		}
		return fmt.Sprintf("%s: %s", f.Name, why)
	default:
		if len(f.UnknownParts) > 0 {
			return fmt.Sprintf("%s %s is not in the knowledge base", sourceName(f), quoteJoin(f.UnknownParts, ", "))
		}
		if f.Unknown {
			return fmt.Sprintf("%s %q names no known licence", sourceName(f), f.Raw)
		}
	}
	return ""
}

func quoteJoin(ss []string, sep string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, sep)
}

func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
