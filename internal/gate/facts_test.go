package gate

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sov.dev/sov/internal/gguf"
	"sov.dev/sov/internal/license"
	"sov.dev/sov/internal/modelinfo"
	"sov.dev/sov/internal/policy"
	"sov.dev/sov/internal/scan"
	"sov.dev/sov/internal/vault"
)

func cardTags(ids ...string) *license.Tags { return &license.Tags{License: ids} }

func TestLicenseFacts(t *testing.T) {
	tests := []struct {
		name       string
		src        license.Sources
		multimodal bool
		check      func(t *testing.T, l policy.License)
	}{
		{"nothing stated", license.Sources{}, false, func(t *testing.T, l policy.License) {
			if l.Known || l.ID != "" || len(l.Unknown) != 1 || !strings.Contains(l.Unknown[0], "no licence file") {
				t.Errorf("got %+v, want unknown with no ID", l)
			}
		}},
		{"one known licence", license.Sources{Card: cardTags("llama3.1")}, false, func(t *testing.T, l policy.License) {
			want := policy.License{
				ID: "llama3.1", Known: true, Unknown: []string{}, Family: "community", CommercialUse: true,
				UserCap: 700_000_000, Attribution: `display "Built with Llama"`,
				NamePrefix: "Llama", AUP: "https://llama.meta.com/llama3_1/use-policy",
				RegionalExclusions: []string{},
				Sources:            []policy.LicenseSource{{Source: "model_card:license", ID: "llama3.1"}},
			}
			if diff := cmp.Diff(want, l, cmpIgnoreNaming); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !strings.Contains(l.NamingRule, `"Llama"`) {
				t.Errorf("NamingRule = %q, want it to name the prefix", l.NamingRule)
			}
		}},
		{"several listed: the strictest terms win", license.Sources{Card: cardTags("apache-2.0", "cc-by-nc-4.0", "qwen")}, false, func(t *testing.T, l policy.License) {
			if !l.Known || l.CommercialUse || l.UserCap != 100_000_000 || l.ID != "Apache-2.0, CC-BY-NC-4.0, qwen" {
				t.Errorf("got %+v, want known, no commercial use, the qwen cap, all three IDs", l)
			}
			if !strings.Contains(l.Attribution, `; qwen: display "Built with Qwen" or "Improved using Qwen"`) ||
				!strings.HasPrefix(l.Attribution, "CC-BY-NC-4.0: ") {
				t.Errorf("Attribution = %q, want it labelled by licence", l.Attribution)
			}
		}},
		{"sources disagree", license.Sources{Card: cardTags("apache-2.0"), GGUF: &license.Tags{License: []string{"llama3.1"}}}, false, func(t *testing.T, l policy.License) {
			if !l.Disagreement || !l.Known || l.UserCap != 700_000_000 {
				t.Errorf("got %+v, want a disagreement carrying llama's cap", l)
			}
			want := []policy.LicenseSource{{Source: "model_card:license", ID: "Apache-2.0"}, {Source: "gguf:general.license", ID: "llama3.1"}}
			if diff := cmp.Diff(want, l.Sources); diff != "" {
				t.Errorf("Sources (-want +got):\n%s", diff)
			}
		}},
		{"unknown tag beside a known one", license.Sources{Card: cardTags("apache-2.0", "acme-model-licence")}, false, func(t *testing.T, l policy.License) {
			if l.Known || len(l.Unknown) != 1 || !strings.Contains(l.Unknown[0], `"acme-model-licence"`) {
				t.Errorf("got %+v, want unknown because of the acme tag", l)
			}
		}},
		{"custom licence file beside a known tag", license.Sources{
			Card:  cardTags("apache-2.0"),
			Files: []license.File{{Name: "LICENSE", Content: []byte("You may use these weights on Tuesdays only.\n")}},
		}, false, func(t *testing.T, l policy.License) {
			if l.Known || len(l.Unknown) != 1 || !strings.HasPrefix(l.Unknown[0], "LICENSE: ") {
				t.Errorf("got %+v, want unknown because of LICENSE", l)
			}
		}},
		{"notice files are not licences", license.Sources{
			Card:  cardTags("apache-2.0"),
			Files: []license.File{{Name: "NOTICE", Content: []byte("Copyright 2025 Example Labs.\n")}},
		}, false, func(t *testing.T, l policy.License) {
			if !l.Known || l.ID != "Apache-2.0" {
				t.Errorf("got %+v, want Apache-2.0, known", l)
			}
		}},
		{"other with a name", license.Sources{Card: &license.Tags{License: []string{"other"}, Name: "acme research licence"}}, false, func(t *testing.T, l policy.License) {
			if l.Known || l.ID != "acme research licence" {
				t.Errorf("got %+v, want unknown, ID the stated name", l)
			}
		}},
		{"multimodal exclusion, text model", license.Sources{Card: cardTags("llama3.2")}, false, func(t *testing.T, l policy.License) {
			if len(l.RegionalExclusions) != 0 {
				t.Errorf("RegionalExclusions = %v, want none for a text model", l.RegionalExclusions)
			}
		}},
		{"multimodal exclusion, vision model", license.Sources{Card: cardTags("llama3.2")}, true, func(t *testing.T, l policy.License) {
			if !slices.Equal(l.RegionalExclusions, []string{"eu"}) {
				t.Errorf("RegionalExclusions = %v, want [eu]", l.RegionalExclusions)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, licenseFacts(license.Identify(tt.src), tt.multimodal))
		})
	}
}

var cmpIgnoreNaming = cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "NamingRule" }, cmp.Ignore())

func TestMultimodal(t *testing.T) {
	info := func(arch, pipeline string, tags []string, files ...modelinfo.File) *vault.Info {
		in := &vault.Info{}
		in.Architecture, in.PipelineTag, in.Tags, in.Files = arch, pipeline, tags, files
		return in
	}
	tests := []struct {
		name string
		info *vault.Info
		want bool
	}{
		{"plain llama", info("llama", "text-generation", []string{"llama"}), false},
		{"mllama", info("mllama", "", nil), true},
		{"llama 4", info("llama4", "", nil), true},
		{"vision pipeline", info("llama", "image-text-to-text", nil), true},
		{"vision tag", info("llama", "", []string{"Vision"}), true},
		{"mmproj beside the weights", info("llama", "", nil, modelinfo.File{Path: "mmproj-model-f16.gguf"}), true},
		{"clip GGUF", info("llama", "", nil, modelinfo.File{Path: "x.gguf", GGUF: &modelinfo.GGUF{Facts: gguf.Facts{Architecture: "clip"}}}), true},
	}
	for _, tt := range tests {
		if got := multimodal(tt.info); got != tt.want {
			t.Errorf("%s: multimodal = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func TestScanFacts(t *testing.T) {
	r := scan.NewReport("m",
		scan.FileResult{Path: "a.bin", Format: "pickle", Verdict: scan.Dangerous,
			Findings: []scan.Finding{{Rule: "pickle.import", Severity: scan.Dangerous, Message: "os.system", Location: "offset 2"}},
			PickleImportScan: &scan.PickleImportScan{HighestSafetyLevel: scan.Dangerous,
				Imports: []scan.Import{{Module: "os", Name: "system", Safety: scan.Dangerous}}}},
		scan.FileResult{Path: "b.gguf", Format: "gguf"},
	)
	got := scanFacts(r)
	want := policy.Scan{
		Verdict:  "dangerous",
		Findings: []policy.Finding{{Rule: "pickle.import", Severity: "dangerous", Message: "os.system", Path: "a.bin", Location: "offset 2"}},
		Imports:  []policy.Import{{Module: "os", Name: "system", Safety: "dangerous", Path: "a.bin"}},
		Files:    []policy.ScanFile{{Path: "a.bin", Format: "pickle", Verdict: "dangerous"}, {Path: "b.gguf", Format: "gguf", Verdict: "innocuous"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scanFacts (-want +got):\n%s", diff)
	}
}
