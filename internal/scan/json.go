package scan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
)

// maxJSONCheck bounds the JSON files checkJSON parses (the largest real
// tokenizer.json files are a few tens of MiB); larger ones are a finding.
var maxJSONCheck int64 = 64 << 20 // a var so tests can lower it

// checkJSON looks inside JSON configs for what makes loaders run code or
// render templates:
//
//	config.remote-code  an auto_map entry: transformers imports the named
//	                    Python classes from the repository (trust_remote_code) — suspicious
//	template.*          chat_template strings (tokenizer_config.json,
//	                    chat_template.json, processor configs), see CheckTemplate
//	safetensors.index-path     a shard named by model.safetensors.index.json's
//	                           weight_map that leaves the model directory — dangerous
//	safetensors.index-missing  a shard that is not a file of the model — suspicious
//
// Other JSON is data and innocuous.
func checkJSON(ra io.ReaderAt, size int64, name string, env *scanEnv, res *FileResult) error {
	if size > maxJSONCheck {
		// Fail closed: an oversized config could hide auto_map, a chat
		// template or shard paths past what the scanner reads.
		res.Add(Finding{Rule: "json.too-large", Severity: Suspicious,
			Message: fmt.Sprintf("a %d-byte JSON file is larger than the %d bytes the scanner checks for remote code, templates and shard paths", size, maxJSONCheck)})
		return nil
	}
	b := make([]byte, size)
	if err := readAtExact(ra, b, 0); err != nil {
		return err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil // not an object, or not JSON filetype could vouch for: data only
	}
	if raw, ok := top["auto_map"]; ok && !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		res.Add(Finding{Rule: "config.remote-code", Severity: Suspicious, Location: "auto_map",
			Message: fmt.Sprintf("auto_map names Python code in the repository (%s) that transformers runs with trust_remote_code", autoMapTargets(raw))})
	}
	if raw, ok := top["weight_map"]; ok {
		checkWeightMap(raw, name, env, res)
	}
	raw, ok := top["chat_template"]
	if !ok {
		return nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		for _, f := range CheckTemplate("chat_template", str) {
			res.Add(f)
		}
		return nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		res.Add(Finding{Rule: "template.malformed", Severity: Suspicious, Location: "chat_template",
			Message: "chat_template is neither a string nor a list of {name, template}"})
		return nil
	}
	for _, t := range named {
		for _, f := range CheckTemplate("chat_template."+t.Name, t.Template) {
			res.Add(f)
		}
	}
	return nil
}

// autoMapTargets lists the module references of an auto_map value, for
// the message: {"AutoModel": "modeling_x.XModel", "AutoTokenizer":
// ["tok.T", null]} gives "modeling_x.XModel, tok.T".
func autoMapTargets(raw json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return "unreadable auto_map"
	}
	seen := map[string]bool{}
	var add func(v any)
	add = func(v any) {
		switch x := v.(type) {
		case string:
			seen[x] = true
		case []any:
			for _, e := range x {
				add(e)
			}
		}
	}
	for _, v := range m {
		add(v)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) > 8 {
		out = append(out[:8], "…")
	}
	return strings.Join(out, ", ")
}

// checkWeightMap checks the shard file names of a sharded checkpoint's
// index: loaders open them relative to the index's directory.
func checkWeightMap(raw json.RawMessage, name string, env *scanEnv, res *FileResult) {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return
	}
	shards := map[string]bool{}
	for _, v := range m {
		if s, ok := v.(string); ok {
			shards[s] = true
		}
	}
	s := newFindingSink(res)
	defer s.flush()
	for _, shard := range slices.Sorted(maps.Keys(shards)) {
		if reason := unsafeRelPath(shard); reason != "" {
			s.addf("safetensors.index-path", Dangerous, "weight_map", "shard file %q %s: loaders would open a file outside the model", shard, reason)
			continue
		}
		if env == nil || env.sibling == nil {
			continue
		}
		if _, ok := env.sibling(path.Join(path.Dir(name), shard)); !ok {
			s.addf("safetensors.index-missing", Suspicious, "weight_map", "shard file %q is not a file of the model", shard)
		}
	}
}
