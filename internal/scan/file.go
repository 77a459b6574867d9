package scan

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sov.dev/sov/internal/filetype"
)

// Options tunes a scan. The zero value is ready to use.
type Options struct {
	// MaxFiles bounds how many files Dir looks at; a directory with more
	// is reported (a suspicious finding) and the rest is not scanned.
	// Zero means DefaultMaxFiles.
	MaxFiles int
	// Parallel is how many files Dir scans at once; zero means
	// GOMAXPROCS.
	Parallel int
	// Sibling, when set, reports the size of another file of the same
	// model, named by its slash-separated path relative to the model's
	// root. Blob uses it to check that ONNX external data exists; without
	// it that check is skipped. Dir and File look on disk instead.
	Sibling func(path string) (size int64, ok bool)
}

// DefaultMaxFiles is the default bound on the files Dir scans.
const DefaultMaxFiles = 100_000

// File scans one file on disk. The result's Path is the file's base name;
// ONNX external data is looked up beside the file. A symbolic link is
// followed (the caller named it); use Dir to scan a model directory.
func File(ctx context.Context, name string, opts Options) (*FileResult, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("scan: %s is not a regular file", name)
	}
	dir := filepath.Dir(name)
	env := &scanEnv{sibling: diskSibling(dir, dir)}
	if opts.Sibling != nil {
		env.sibling = opts.Sibling
	}
	res, err := scanContent(ctx, filepath.Base(name), f, fi.Size(), env)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Blob scans one file of a model held elsewhere (the vault): name is the
// file's slash-separated path in the model, which decides what the file
// claims to be; ra holds its size bytes. opts.Sibling, if set, lets
// checks that need other files of the model (ONNX external data) see
// them. The error is non-nil only when ra cannot be read or ctx is done.
func Blob(ctx context.Context, name string, ra io.ReaderAt, size int64, opts Options) (*FileResult, error) {
	if size < 0 {
		return nil, fmt.Errorf("scan: %s: negative size %d", name, size)
	}
	return scanContent(ctx, path.Clean("/" + filepath.ToSlash(name))[1:], ra, size, &scanEnv{sibling: opts.Sibling})
}

// scanEnv is what a scan of one file may know about the rest of the model.
type scanEnv struct {
	// sibling reports the size of another file of the model by its slash
	// path relative to the model root; nil when unknown.
	sibling func(path string) (int64, bool)
}

// diskSibling looks files up under dir (a model root on disk) and refuses
// any path that leaves limit, the scanned root, after resolving links.
func diskSibling(dir, limit string) func(string) (int64, bool) {
	realLimit, err := filepath.EvalSymlinks(limit)
	if err != nil {
		realLimit = limit
	}
	return func(rel string) (int64, bool) {
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			return 0, false
		}
		p, err := filepath.EvalSymlinks(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil || !within(realLimit, p) {
			return 0, false
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		return fi.Size(), true
	}
}

// within reports whether p is root or lies under it (both cleaned,
// links resolved by the caller).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && (rel == "." || filepath.IsLocal(rel))
}

// pickleFamily maps the formats ScanPickleFamily examines to the kind it
// is called with: tar archives are legacy torch.save checkpoints, and
// compressed data is examined the way joblib files are (decompressed,
// bounded, and the content scanned).
var pickleFamily = map[string]string{
	"pickle": "pickle", "pytorch-zip": "pytorch-zip", "pytorch-legacy": "pytorch-legacy",
	"numpy": "numpy", "npz": "npz", "zip": "zip", "joblib": "joblib", "7z": "7z",
	"tar": "pytorch-legacy", "compressed": "joblib",
}

// scanContent identifies one file by its bytes and runs the checks for
// its format. name is the slash path used in the result.
func scanContent(ctx context.Context, name string, ra io.ReaderAt, size int64, env *scanEnv) (*FileResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &FileResult{Path: name, Size: size, Findings: []Finding{}, Verdict: Innocuous}
	format, err := detectFormat(ra, size, name)
	if err != nil {
		return nil, fmt.Errorf("scan: %s: %w", name, err)
	}
	res.Format = format
	res.Claimed = claimedFormat(name)
	if f, ok := mismatchFinding(res.Claimed, format); ok {
		res.Add(f)
	}
	switch kind, pf := pickleFamily[format]; {
	case pf:
		err = ScanPickleFamily(ctx, ra, size, kind, res)
	case format == "gguf":
		err = checkGGUF(ra, size, res)
	case format == "safetensors":
		err = checkSafetensors(ra, size, res)
	case format == "onnx":
		err = checkONNX(ra, size, name, env, res)
	case format == "keras":
		err = checkKeras(ctx, ra, size, res)
	case format == "hdf5":
		err = checkHDF5(ra, size, res)
	case isJSONFormat(format):
		err = checkJSON(ra, size, name, env, res)
	case format == "python":
		res.Add(Finding{Rule: "code.python", Severity: Suspicious,
			Message: "Python source: code that loaders run when a model is loaded with trust_remote_code"})
	case isHarmlessFormat(format):
		if strings.HasSuffix(strings.ToLower(name), ".jinja") {
			err = checkTemplateFile(ra, size, res)
		}
	case format == "binary" && res.Claimed == "safetensors":
		// Not recognisable as safetensors: say what is wrong with it as one.
		err = checkSafetensors(ra, size, res)
		if err == nil && res.Verdict == Innocuous {
			res.Add(Finding{Rule: "format.unrecognised", Severity: Suspicious,
				Message: "unrecognised binary format: nothing vouches for its content"})
		}
	default:
		res.Add(Finding{Rule: "format.unrecognised", Severity: Suspicious,
			Message: "unrecognised binary format: nothing vouches for its content"})
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("scan: %s: %w", name, err)
	}
	return res, nil
}

// Magic numbers of image formats (filetype calls them binary).
var imageMagics = [][]byte{
	[]byte("\x89PNG\r\n\x1a\n"), []byte("\xff\xd8\xff"), []byte("GIF87a"), []byte("GIF89a"),
	[]byte("II*\x00"), []byte("MM\x00*"),
}

// detectFormat names the format of the content: filetype's kind (with
// "numpy-npz" spelled "npz"), or for what filetype calls binary: "7z",
// "tar", "image", compressed data ("joblib" when the name claims a pickle
// family format, as joblib compresses its pickles, else "compressed"),
// or "binary".
func detectFormat(ra io.ReaderAt, size int64, name string) (string, error) {
	r, err := filetype.Detect(ra, size, name)
	if err != nil {
		return "", err
	}
	switch r.Kind {
	case filetype.KindNumPyZip:
		return "npz", nil
	case filetype.KindBinary:
	default:
		return string(r.Kind), nil
	}
	head := make([]byte, min(512, size))
	if err := readAtExact(ra, head, 0); err != nil {
		return "", err
	}
	for _, m := range imageMagics {
		if bytes.HasPrefix(head, m) {
			return "image", nil
		}
	}
	if len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP" {
		return "image", nil
	}
	switch k := PickleFamilyKind(head); k {
	case "":
		return "binary", nil
	case "7z", "tar":
		return k, nil
	case "zip", "npy", "pickle":
		// filetype recognises these; a damaged one lands here.
		return "binary", nil
	default:
		switch claimedFormat(name) {
		case "joblib", "pickle", "pytorch":
			return "joblib", nil
		}
		return "compressed", nil
	}
}

// claimedFormat is the format a file's name suggests, in the vocabulary
// of FileResult.Format, or "" when the name says nothing.
func claimedFormat(name string) string {
	base := strings.ToLower(path.Base(name))
	switch base {
	case "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json":
		return "json"
	case "tokenizer.model":
		return "sentencepiece"
	}
	if strings.HasSuffix(base, ".safetensors.index.json") {
		return "json"
	}
	switch path.Ext(base) {
	case ".bin", ".pt", ".pth", ".ckpt":
		return "pytorch"
	case ".pkl", ".pickle", ".dat", ".data":
		return "pickle"
	case ".joblib":
		return "joblib"
	case ".npy":
		return "numpy"
	case ".npz":
		return "npz"
	case ".safetensors":
		return "safetensors"
	case ".gguf":
		return "gguf"
	case ".onnx":
		return "onnx"
	case ".keras":
		return "keras"
	case ".h5", ".hdf5":
		return "hdf5"
	case ".zip":
		return "zip"
	case ".7z":
		return "7z"
	case ".json":
		return "json"
	case ".md", ".markdown", ".txt", ".jinja":
		return "text"
	case ".py":
		return "python"
	case ".png", ".jpg", ".jpeg", ".gif", ".webp", ".tif", ".tiff":
		return "image"
	}
	return ""
}

// isJSONFormat reports whether format is one of filetype's JSON kinds.
func isJSONFormat(format string) bool {
	switch filetype.Kind(format) {
	case filetype.KindJSON, filetype.KindHFConfig, filetype.KindHFGenerationConfig,
		filetype.KindHFTokenizer, filetype.KindHFTokenizerConfig, filetype.KindSafetensorsIndex:
		return true
	}
	return false
}

// isTextFormat reports whether format is prose.
func isTextFormat(format string) bool {
	switch filetype.Kind(format) {
	case filetype.KindModelCard, filetype.KindLicense, filetype.KindMarkdown, filetype.KindText:
		return true
	}
	return false
}

// isHarmlessFormat reports whether content of this format cannot carry
// code a loader would run: prose, images and SentencePiece models.
func isHarmlessFormat(format string) bool {
	return isTextFormat(format) || format == "image" || format == string(filetype.KindSentencePiece)
}

// codeBearing reports whether content of this format can make a loader
// run code (pickles and the archives that hold them).
func codeBearing(format string) bool {
	switch format {
	case "pickle", "pytorch-zip", "pytorch-legacy", "joblib", "zip", "7z", "npz", "keras", "tar", "compressed":
		return true
	}
	return false
}

// consistent reports whether content of format is a plausible match for
// a name claiming claimed.
func consistent(claimed, format string) bool {
	switch claimed {
	case "", format:
		return true
	case "pytorch", "pickle", "joblib":
		switch format {
		case "pytorch-zip", "pytorch-legacy", "pickle", "joblib":
			return true
		}
		// .bin names anything; a tensor format under it is harmless.
		return claimed == "pytorch" && (format == "gguf" || format == "safetensors" || format == "onnx")
	case "zip":
		return format == "pytorch-zip" || format == "npz" || format == "keras"
	case "npz":
		return format == "npz" || format == "zip"
	case "json":
		return isJSONFormat(format)
	case "text":
		return isTextFormat(format) || isJSONFormat(format) || format == "python"
	}
	return false
}

// mismatchFinding reports a name that claims one format over content of
// another: dangerous when a name that promises inert data (safetensors,
// GGUF, JSON, text …) hides a pickle or an archive, suspicious otherwise.
func mismatchFinding(claimed, format string) (Finding, bool) {
	if consistent(claimed, format) {
		return Finding{}, false
	}
	sev := Suspicious
	if codeBearing(format) && !codeBearing(claimed) && claimed != "pytorch" {
		sev = Dangerous
	}
	return Finding{
		Rule:     "format.mismatch",
		Severity: sev,
		Message:  fmt.Sprintf("the name claims %s but the content is %s", claimed, format),
	}, true
}
