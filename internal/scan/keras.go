package scan

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// maxKerasConfig bounds the config.json of a Keras archive read whole.
const maxKerasConfig = 64 << 20

// checkKeras checks a Keras v3 archive (.keras: a zip holding
// config.json, model.weights.h5 and metadata.json). The archive itself
// goes through the zip checks of ScanPickleFamily (tricks, nested
// pickles); config.json is parsed for what runs code at load time:
//
//	keras.lambda         a Lambda layer or serialised lambda (marshalled Python bytecode) — dangerous
//	keras.custom-object  a class or function from outside keras' own modules — suspicious,
//	                     dangerous when the module is a known code-execution gadget
//	keras.config         config.json missing, oversized or not JSON — suspicious
func checkKeras(ctx context.Context, ra io.ReaderAt, size int64, res *FileResult) error {
	if err := ScanPickleFamily(ctx, ra, size, "zip", res); err != nil {
		return err
	}
	s := newFindingSink(res)
	defer s.flush()
	zr, err := zip.NewReader(ra, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		s.addf("keras.config", Suspicious, "", "cannot read the archive: %v", err)
		return nil
	}
	var cfg *zip.File
	for _, f := range zr.File {
		if f.Name == "config.json" {
			if cfg != nil {
				s.addf("keras.config", Suspicious, "config.json", "more than one config.json member: loaders disagree on which is read")
				break
			}
			cfg = f
		}
	}
	if cfg == nil {
		s.addf("keras.config", Suspicious, "", "no config.json member: not a Keras v3 archive as it claims")
		return nil
	}
	if cfg.UncompressedSize64 > maxKerasConfig {
		s.addf("keras.config", Suspicious, "config.json", "config.json is %d bytes (limit %d); not analysed", cfg.UncompressedSize64, maxKerasConfig)
		return nil
	}
	rc, err := cfg.Open()
	if err != nil {
		s.addf("keras.config", Suspicious, "config.json", "cannot open config.json: %v", err)
		return nil
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxKerasConfig+1))
	switch {
	case err != nil:
		s.addf("keras.config", Suspicious, "config.json", "cannot read config.json: %v", err)
		return nil
	case len(data) > maxKerasConfig:
		s.addf("keras.config", Suspicious, "config.json", "config.json is larger than its header says (limit %d)", maxKerasConfig)
		return nil
	}
	kerasConfig(data, s)
	return nil
}

// kerasConfig walks a Keras model config for Lambda layers and custom
// objects.
func kerasConfig(data []byte, s *findingSink) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		s.addf("keras.config", Suspicious, "config.json", "config.json is not JSON: %v", err)
		return
	}
	kerasWalk(root, "config.json", false, s)
}

// kerasWalk visits every object of a config. inLambda is set below a
// Lambda layer already reported.
func kerasWalk(v any, where string, inLambda bool, s *findingSink) {
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			kerasWalk(e, fmt.Sprintf("%s[%d]", where, i), inLambda, s)
		}
	case map[string]any:
		class, _ := x["class_name"].(string)
		name := where
		if c, ok := x["config"].(map[string]any); ok {
			if n, ok := c["name"].(string); ok && n != "" {
				name = where + " (" + n + ")"
			}
		}
		switch {
		case class == "Lambda" && !inLambda:
			s.addf("keras.lambda", Dangerous, name, "Lambda layer: %s", lambdaDetail(x))
			inLambda = true
		case (class == "__lambda__" || x["function_type"] == "lambda") && !inLambda:
			s.addf("keras.lambda", Dangerous, name, "serialised Python lambda (marshalled bytecode runs when the model is loaded)")
			inLambda = true
		case class != "":
			kerasCustom(x, class, name, s)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kerasWalk(x[k], where+"."+k, inLambda, s)
		}
	}
}

// lambdaDetail says what a Lambda layer's function is.
func lambdaDetail(layer map[string]any) string {
	cfg, _ := layer["config"].(map[string]any)
	switch fn := cfg["function"].(type) {
	case map[string]any:
		if fn["class_name"] == "__lambda__" {
			return "its function is marshalled Python bytecode, run when the model is loaded or called"
		}
		mod, _ := fn["module"].(string)
		name, _ := fn["config"].(string)
		return fmt.Sprintf("calls Python function %s.%s", mod, name)
	case []any:
		return "its function is marshalled Python bytecode (legacy format), run when the model is loaded or called"
	case string:
		if cfg["function_type"] == "lambda" {
			return "its function is marshalled Python bytecode (legacy format), run when the model is loaded or called"
		}
		return fmt.Sprintf("calls Python function %q", fn)
	}
	return "runs arbitrary Python code"
}

// kerasCustom reports an object whose class comes from outside keras.
func kerasCustom(obj map[string]any, class, where string, s *findingSink) {
	module, hasModule := obj["module"].(string)
	reg, _ := obj["registered_name"].(string)
	builtin := !hasModule || module == "keras" || strings.HasPrefix(module, "keras.")
	if reg != "" && strings.Contains(reg, ">") && !strings.HasPrefix(reg, "keras") {
		builtin = false
	}
	if builtin {
		return
	}
	// A plain function is serialised as class "function" with its name
	// as the config.
	name := class
	if fn, ok := obj["config"].(string); ok && class == "function" {
		name = fn
	}
	sev := Max(Suspicious, ClassifyImport(module, name))
	what := fmt.Sprintf("custom object %s.%s", module, name)
	if reg != "" {
		what += fmt.Sprintf(" (registered as %q)", reg)
	}
	s.addf("keras.custom-object", sev, where, "%s: loading imports and runs code from outside keras", what)
}

// HDF5 byte patterns that reveal a Lambda layer in a legacy Keras model's
// model_config attribute (JSON stored as an HDF5 string attribute).
var h5LambdaPatterns = [][]byte{
	[]byte(`"class_name": "Lambda"`),
	[]byte(`"class_name":"Lambda"`),
	[]byte(`"function_type": "lambda"`),
	[]byte(`"function_type":"lambda"`),
	[]byte(`"__lambda__"`),
}

// How much of an HDF5 file checkHDF5 searches: the model config is
// written early (legacy Keras saves it before the weights), so the head
// and tail of a large file are enough for a best-effort search.
const (
	h5HeadScan = 64 << 20
	h5TailScan = 16 << 20
)

// checkHDF5 searches a legacy Keras HDF5 file's bytes for a Lambda layer
// in its model_config attribute (keras.lambda, dangerous). This is a
// best-effort byte search, not an HDF5 parser: it reads at most the first
// 64 MiB and the last 16 MiB, and a config stored compressed or split
// across chunks escapes it. A note records that the search was partial.
func checkHDF5(ra io.ReaderAt, size int64, res *FileResult) error {
	ranges := [][2]int64{{0, min(size, h5HeadScan)}}
	if size > h5HeadScan {
		ranges = append(ranges, [2]int64{max(h5HeadScan, size-h5TailScan), size})
	}
	found, err := searchRanges(ra, ranges, h5LambdaPatterns)
	if err != nil {
		return err
	}
	if found >= 0 {
		res.Add(Finding{Rule: "keras.lambda", Severity: Dangerous, Location: fmt.Sprintf("offset %d", found),
			Message: "legacy Keras HDF5 model config holds a Lambda layer: marshalled Python bytecode runs when the model is loaded (found by byte search)"})
		return nil
	}
	if size > h5HeadScan+h5TailScan {
		res.Add(Finding{Rule: "hdf5.partial-scan", Severity: Innocuous,
			Message: fmt.Sprintf("HDF5 checked by byte search of its first %d and last %d MiB only", h5HeadScan>>20, h5TailScan>>20)})
	}
	return nil
}

// searchRanges looks for any of pats in the byte ranges of ra, reading in
// chunks, and returns the offset of the first match or -1.
func searchRanges(ra io.ReaderAt, ranges [][2]int64, pats [][]byte) (int64, error) {
	overlap := 0
	for _, p := range pats {
		overlap = max(overlap, len(p)-1)
	}
	const chunk = 1 << 20
	buf := make([]byte, chunk+overlap)
	for _, r := range ranges {
		keep := 0 // bytes carried over from the previous chunk
		for off := r[0]; off < r[1]; {
			n := int(min(chunk, r[1]-off))
			if err := readAtExact(ra, buf[keep:keep+n], off); err != nil {
				return -1, err
			}
			window := buf[:keep+n]
			for _, p := range pats {
				if i := bytes.Index(window, p); i >= 0 {
					return off - int64(keep) + int64(i), nil
				}
			}
			off += int64(n)
			keep = min(overlap, len(window))
			copy(buf, window[len(window)-keep:])
		}
	}
	return -1, nil
}
