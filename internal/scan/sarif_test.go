package scan

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sarifDoc is the part of a SARIF log the tests read back.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name  string `json:"name"`
				Rules []struct {
					ID               string `json:"id"`
					ShortDescription struct {
						Text string `json:"text"`
					} `json:"shortDescription"`
					DefaultConfiguration struct {
						Level string `json:"level"`
					} `json:"defaultConfiguration"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		OriginalURIBaseIDs map[string]struct {
			URI string `json:"uri"`
		} `json:"originalUriBaseIds"`
		Results []struct {
			RuleID    string `json:"ruleId"`
			RuleIndex int    `json:"ruleIndex"`
			Level     string `json:"level"`
			Message   struct {
				Text string `json:"text"`
			} `json:"message"`
			Locations []struct {
				PhysicalLocation struct {
					ArtifactLocation struct {
						URI       string `json:"uri"`
						URIBaseID string `json:"uriBaseId"`
					} `json:"artifactLocation"`
					Region *struct {
						ByteOffset int64 `json:"byteOffset"`
						ByteLength int64 `json:"byteLength"`
					} `json:"region"`
				} `json:"physicalLocation"`
				LogicalLocations []struct {
					FullyQualifiedName string `json:"fullyQualifiedName"`
				} `json:"logicalLocations"`
			} `json:"locations"`
		} `json:"results"`
	} `json:"runs"`
}

func TestSARIF(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, cleanModel(t))
	hdr := `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	writeTree(t, dir, map[string][]byte{
		"weights dir/model.safetensors": rawSafetensors(hdr, []byte("\x00\x00\x00\x00hidden")),
		"chat_template.jinja":           []byte("{{ x.__class__ }}{{ config }}"),
	})
	rep, err := Dir(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := rep.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	var doc sarifDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "2.1.0" || !strings.Contains(doc.Schema, "sarif-schema-2.1.0") || len(doc.Runs) != 1 {
		t.Fatalf("version %q schema %q runs %d", doc.Version, doc.Schema, len(doc.Runs))
	}
	run := doc.Runs[0]
	if run.Tool.Driver.Name != "sov" {
		t.Errorf("driver name %q, want sov", run.Tool.Driver.Name)
	}
	var ids []string
	for _, r := range run.Tool.Driver.Rules {
		ids = append(ids, r.ID+":"+r.DefaultConfiguration.Level)
		if r.ShortDescription.Text == "" {
			t.Errorf("rule %s has no description", r.ID)
		}
	}
	wantIDs := []string{"safetensors.gap:warning", "template.dunder:error", "template.escape-global:warning"}
	if diff := cmp.Diff(wantIDs, ids); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if base := run.OriginalURIBaseIDs["SCANROOT"].URI; !strings.HasPrefix(base, "file:///") || !strings.HasSuffix(base, "/") {
		t.Errorf("SCANROOT base %q, want a file URI ending in /", base)
	}
	type res struct{ Rule, Level, URI string }
	var got []res
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s has ruleIndex %d naming %s", r.RuleID, r.RuleIndex, run.Tool.Driver.Rules[r.RuleIndex].ID)
		}
		if r.Message.Text == "" || len(r.Locations) != 1 {
			t.Errorf("result %s: message %q, %d locations", r.RuleID, r.Message.Text, len(r.Locations))
			continue
		}
		pl := r.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URIBaseID != "SCANROOT" {
			t.Errorf("result %s: uriBaseId %q", r.RuleID, pl.ArtifactLocation.URIBaseID)
		}
		got = append(got, res{r.RuleID, r.Level, pl.ArtifactLocation.URI})
		switch r.RuleID {
		case "safetensors.gap":
			if want := int64(8 + len(hdr) + 4); pl.Region == nil || pl.Region.ByteOffset != want || pl.Region.ByteLength != 1 {
				t.Errorf("gap region %+v, want byte offset %d", pl.Region, want)
			}
		case "template.dunder":
			if len(r.Locations[0].LogicalLocations) != 1 || !strings.HasPrefix(r.Locations[0].LogicalLocations[0].FullyQualifiedName, "chat_template.jinja line 1") {
				t.Errorf("template logical location %+v", r.Locations[0].LogicalLocations)
			}
		}
	}
	want := []res{
		{"template.dunder", "error", "chat_template.jinja"},
		{"template.escape-global", "warning", "chat_template.jinja"},
		{"safetensors.gap", "warning", "weights%20dir/model.safetensors"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestSARIFLevels(t *testing.T) {
	rep := NewReport("vault-model",
		FileResult{Path: "a", Verdict: Innocuous, Findings: []Finding{{Rule: "fs.symlink-dir", Severity: Innocuous, Message: "m"}}},
		FileResult{Path: "b", Verdict: Suspicious, Findings: []Finding{{Rule: "pickle.import", Severity: Suspicious, Message: "m"}}},
		FileResult{Path: "c", Verdict: Dangerous, Findings: []Finding{{Rule: "pickle.import", Severity: Dangerous, Message: "m"}}},
		FileResult{Path: "d", Verdict: Suspicious, Findings: []Finding{{Rule: "newfamily.thing", Severity: Suspicious, Message: "m"}}},
	)
	out, err := rep.SARIF()
	if err != nil {
		t.Fatal(err)
	}
	var doc sarifDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	run := doc.Runs[0]
	if len(run.OriginalURIBaseIDs) != 0 {
		t.Errorf("a vault report names a directory base: %v", run.OriginalURIBaseIDs)
	}
	var levels []string
	for _, r := range run.Results {
		levels = append(levels, r.RuleID+":"+r.Level)
	}
	want := []string{"fs.symlink-dir:note", "pickle.import:warning", "pickle.import:error", "newfamily.thing:warning"}
	if diff := cmp.Diff(want, levels); diff != "" {
		t.Errorf("levels (-want +got):\n%s", diff)
	}
	var rules []string
	for _, r := range run.Tool.Driver.Rules {
		rules = append(rules, r.ID+":"+r.DefaultConfiguration.Level+":"+r.ShortDescription.Text)
	}
	wantRules := []string{
		"fs.symlink-dir:note:" + RuleDescription("fs.symlink-dir"),
		"newfamily.thing:warning:Finding newfamily.thing.",
		"pickle.import:error:" + RuleDescription("pickle.import"),
	}
	if diff := cmp.Diff(wantRules, rules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	// A clean report is a valid log with no results.
	out, err = NewReport("x").SARIF()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"results": []`) || !strings.Contains(string(out), `"rules": []`) {
		t.Errorf("empty report SARIF lacks empty results/rules arrays:\n%s", out)
	}
}
