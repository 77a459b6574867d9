package scan

import (
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"sov.dev/sov/internal/pickle"
)

// pickleScanner gathers what the pickles of one file (and of the archive
// members inside it) import, and the findings, into a FileResult.
type pickleScanner struct {
	res      *FileResult
	findings *findingSink // capped per rule, summarised by finish
	// scanned remembers member data already scanned (offset, length), so
	// entries sharing bytes are scanned once; members counts scans.
	scanned map[spanKey]bool
	members int
	imports map[[2]string]Safety
	pickles int // pickle streams scanned
	// inflated counts bytes decompressed so far, against maxInflateTotal.
	inflated int64
}

// spanKey names bytes of an archive: the archive's location, an offset
// and a length.
type spanKey struct {
	archive  string
	off, len int64
}

// Bounds on one file's scan.
const (
	maxMemberScans = 1 << 14 // archive members whose content is scanned
)

func newPickleScanner(res *FileResult) *pickleScanner {
	return &pickleScanner{res: res, findings: newFindingSink(res), imports: map[[2]string]Safety{},
		scanned: map[spanKey]bool{}}
}

func (ps *pickleScanner) add(rule string, sev Safety, loc, format string, args ...any) {
	ps.findings.addf(rule, sev, loc, format, args...)
}

// finish summarises dropped findings and records the Hub-shaped import
// list when any pickle was scanned.
func (ps *pickleScanner) finish() {
	ps.findings.flush()
	if ps.pickles == 0 && len(ps.imports) == 0 {
		return
	}
	scan := &PickleImportScan{HighestSafetyLevel: Innocuous, Imports: []Import{}}
	for k, s := range ps.imports {
		scan.Imports = append(scan.Imports, Import{Module: k[0], Name: k[1], Safety: s})
		scan.HighestSafetyLevel = Max(scan.HighestSafetyLevel, s)
	}
	slices.SortFunc(scan.Imports, func(a, b Import) int {
		return strings.Compare(a.Module+"\x00"+a.Name, b.Module+"\x00"+b.Name)
	})
	ps.res.PickleImportScan = scan
}

func (ps *pickleScanner) addImport(module, name string, s Safety) {
	k := [2]string{module, name}
	ps.imports[k] = Max(ps.imports[k], s)
}

// at joins a location (an archive member, or "" for the file itself) and
// a byte offset in it.
func atOffset(loc string, off int64) string {
	o := "offset " + strconv.FormatInt(off, 10)
	if loc == "" {
		return o
	}
	return loc + ", " + o
}

// corruptError marks a read that failed because a container's content is
// damaged (bad compressed data), as opposed to an I/O failure.
type corruptError struct {
	what string
	err  error
}

func (e *corruptError) Error() string { return e.what + ": " + e.err.Error() }
func (e *corruptError) Unwrap() error { return e.err }

// corruptReader tags every error but io.EOF from r as corrupt content.
type corruptReader struct {
	r    io.Reader
	what string
}

func (c *corruptReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && err != io.EOF {
		var ce *corruptError
		if !errors.As(err, &ce) {
			err = &corruptError{what: c.what, err: err}
		}
	}
	return n, err
}

// pidMode says what persistent ids mean where a pickle is loaded.
type pidMode int

const (
	pidsUnexpected pidMode = iota // plain pickle.load: no persistent_load hook
	pidsTorch                     // torch.load: ('storage', type, key, location, numel, …)
	pidsLoader                    // a loader hook whose ids are not checked (legacy tar)
)

// scanPickles parses every pickle in r (size bytes, -1 when unknown) and
// records imports and findings under loc. Malformed input is a finding;
// the error is only for I/O failures. It returns the emulator's result
// (nil when nothing could be parsed).
func (ps *pickleScanner) scanPickles(r io.Reader, size int64, loc string, opts pickle.Options, pids pidMode) (*pickle.Result, error) {
	opts.Size = size
	res, err := pickle.Scan(r, opts)
	ps.pickles++
	ps.record(res, loc, pids)
	return res, ps.parseError(err, loc)
}

// parseError turns a parse or decompression failure into a finding and
// passes I/O errors on.
func (ps *pickleScanner) parseError(err error, loc string) error {
	if err == nil {
		return nil
	}
	var fe *pickle.FormatError
	var ce *corruptError
	switch {
	case errors.As(err, &ce):
		ps.add("container.corrupt", Dangerous, loc, "cannot read the content (%v); it was not inspected past this point", ce)
	case errors.As(err, &fe):
		ps.add("pickle.unparsable", Dangerous, atOffset(loc, fe.Offset),
			"the pickle cannot be parsed (%s); what follows was not inspected", strings.TrimPrefix(fe.Error(), "pickle: "))
	default:
		return err
	}
	return nil
}

// record turns an emulator result into imports and findings.
func (ps *pickleScanner) record(r *pickle.Result, loc string, pids pidMode) {
	if r == nil {
		return
	}
	for _, g := range r.Globals {
		if g.Dynamic {
			ps.addImport(g.Module, g.Name, Dangerous)
			ps.add("pickle.dynamic-import", Dangerous, atOffset(loc, g.Offset),
				"%s imports a name computed at load time (module %s, name %s)", g.Op, g.Module, g.Name)
			continue
		}
		s, why := classifyImport(g.Module, g.Name)
		ps.addImport(g.Module, g.Name, s)
		if s != Innocuous {
			ps.add("pickle.import", s, atOffset(loc, g.Offset), "%s imports %s: %s",
				g.Op, quoteName(g.Module, g.Name), why)
		}
	}
	for _, c := range r.Calls {
		switch {
		case c.OnGlobal:
			ps.add("pickle.build-on-global", Dangerous, atOffset(loc, c.Offset),
				"BUILD sets attributes on the imported object %s itself", quoteName(c.Module, c.Name))
		case !c.Known && c.Op != pickle.BUILD:
			ps.add("pickle.computed-call", Suspicious, atOffset(loc, c.Offset),
				"%s calls %s, which is not an imported global", c.Op, c.Callee)
		}
	}
	if len(r.Exts) > 0 {
		codes := make([]string, 0, min(len(r.Exts), 8))
		for _, e := range r.Exts[:min(len(r.Exts), 8)] {
			codes = append(codes, strconv.FormatInt(e.Code, 10))
		}
		ps.add("pickle.ext-code", Suspicious, atOffset(loc, r.Exts[0].Offset),
			"%d extension-registry reference(s) (codes %s): the global is chosen at load time", len(r.Exts), strings.Join(codes, ", "))
	}
	if r.Buffers > 0 {
		ps.add("pickle.out-of-band", Suspicious, loc, "%d out-of-band buffer(s) (NEXT_BUFFER) supplied by the loader", r.Buffers)
	}
	if r.Dropped > 0 {
		ps.add("pickle.too-many", Dangerous, loc, "%d globals or calls beyond the scanner's limits were not classified", r.Dropped)
	}
	if r.PersIDCount > 0 && pids == pidsUnexpected {
		ps.add("pickle.persistent-id", Suspicious, atOffset(loc, r.PersIDs[0].Offset),
			"%d persistent id(s), e.g. %s: what they load is decided by the loader's persistent_load", r.PersIDCount, r.PersIDs[0].Value)
	}
}

// quoteName renders module.name, quoting it when it holds unusual
// characters so that "os " or "os\n" shows as such.
func quoteName(module, name string) string {
	s := module + "." + name
	if plainName(module) && plainName(name) {
		return s
	}
	return strconv.Quote(s)
}

// storageRef is a PyTorch storage a pickle refers to by persistent id.
type storageRef struct {
	member   string // archive member holding the bytes ("" for legacy)
	key      string
	typeName string // e.g. "FloatStorage"
	numel    int64
	elemSize int64 // 0 when the type is unknown
}

// storageElemSize is the element size of each torch storage type.
var storageElemSize = map[string]int64{
	"FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2,
	"ByteStorage": 1, "CharStorage": 1, "ShortStorage": 2, "IntStorage": 4, "LongStorage": 8,
	"BoolStorage": 1, "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
	"QUInt8Storage": 1, "QInt8Storage": 1, "QInt32Storage": 4, "QUInt4x2Storage": 1,
	"QUInt2x4Storage": 1, "UntypedStorage": 1,
}

// torchStorages reads PyTorch storage references from persistent ids;
// ids of any other shape are findings. In a zip checkpoint (zipped) each
// reference's member is "data/<key>", relative to the pickle's directory.
func (ps *pickleScanner) torchStorages(r *pickle.Result, loc string, zipped bool) []storageRef {
	if r == nil {
		return nil
	}
	var refs []storageRef
	bad := 0
	var firstBad pickle.PersID
	for _, p := range r.PersIDs {
		ref, ok := torchStorageRef(p.Value)
		if !ok {
			if bad == 0 {
				firstBad = p
			}
			bad++
			continue
		}
		if zipped {
			ref.member = "data/" + ref.key
		}
		refs = append(refs, ref)
	}
	if bad > 0 {
		ps.add("pickle.persistent-id", Suspicious, atOffset(loc, firstBad.Offset),
			"%d persistent id(s) are not PyTorch storage references, e.g. %s", bad, firstBad.Value)
	}
	if r.PersIDCount > len(r.PersIDs) {
		ps.add("pickle.persistent-id", Suspicious, loc, "%d persistent ids beyond the scanner's limit were not checked", r.PersIDCount-len(r.PersIDs))
	}
	return refs
}

// torchStorageRef parses ('storage', <torch storage class>, key, location,
// numel[, view metadata]).
func torchStorageRef(v *pickle.Value) (storageRef, bool) {
	if v == nil || v.Kind != pickle.KindTuple || v.Trunc || len(v.Items) < 5 || len(v.Items) > 6 {
		return storageRef{}, false
	}
	it := v.Items
	if !it[0].IsString() || it[0].Str != "storage" || !it[2].IsString() || !it[3].IsString() ||
		it[4].Kind != pickle.KindInt || it[4].Big || it[4].Int < 0 {
		return storageRef{}, false
	}
	mod, name, ok := it[1].Global()
	if !ok || ClassifyImport(mod, name) != Innocuous || !strings.HasSuffix(name, "Storage") {
		return storageRef{}, false
	}
	key := it[2].Str
	if key == "" || strings.ContainsAny(key, "/\\\x00") || key == "." || key == ".." {
		return storageRef{}, false
	}
	return storageRef{key: key, typeName: name, numel: it[4].Int, elemSize: storageElemSize[name]}, true
}
