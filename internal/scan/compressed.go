package scan

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"context"
	"io"
)

func (ps *pickleScanner) scanCompressed(ctx context.Context, ra io.ReaderAt, size int64, loc, kind string, depth int) error {
	var mk func(io.Reader) (io.Reader, error)
	switch kind {
	case "gzip":
		mk = func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
	case "zlib":
		mk = func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) }
	case "joblib-zlib":
		mk = func(r io.Reader) (io.Reader, error) {
			// joblib < 0.10: "ZF", the length in hex padded to 19 bytes,
			// then a zlib stream.
			if _, err := io.CopyN(io.Discard, r, 21); err != nil {
				return nil, err
			}
			return zlib.NewReader(r)
		}
	case "bzip2":
		mk = func(r io.Reader) (io.Reader, error) { return bzip2.NewReader(r), nil }
	default:
		ps.add("container.unopenable", Dangerous, loc, "cannot inspect %s-compressed content; refusing", kind)
		return nil
	}
	limit := min(int64(maxInflateTotal), max(int64(bombMinSize), bombRatio*size))
	open := func() (io.Reader, error) {
		d, err := mk(io.NewSectionReader(ra, 0, size))
		if err != nil {
			return nil, &corruptError{what: "bad " + kind + " header", err: err}
		}
		return &budgetReader{r: &corruptReader{r: d, what: "bad " + kind + " data"}, ps: ps, declared: limit}, nil
	}
	r, err := open()
	if err != nil {
		return ps.memberReadError(err, loc)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxMaterialize+1))
	if err != nil {
		return ps.memberReadError(err, loc)
	}
	if int64(len(data)) <= maxMaterialize {
		blob := bytes.NewReader(data)
		k, err := sniffContent(blob, int64(len(data)))
		if err != nil {
			return err
		}
		if k == "" {
			ps.add("container.unrecognised", Suspicious, loc, "%s-compressed content is not a pickle, array or archive", kind)
			return nil
		}
		_, err = ps.scanBlob(ctx, blob, int64(len(data)), loc, k, depth+1, pidsUnexpected)
		return err
	}
	switch k := sniffHead(data[:512]); k {
	case "pickle", "npy":
		return ps.scanStream(open, loc, k, pidsUnexpected)
	default:
		ps.add("container.unopenable", Dangerous, loc, "%s-compressed content over %d bytes that is not a pickle; not inspected", kind, int64(maxMaterialize))
		return nil
	}
}

// scanStream scans pickle or .npy content that can only be streamed
// (its size is unknown).
func (ps *pickleScanner) scanStream(open opener, loc, kind string, pids pidMode) error {
	var err error
	if kind == "npy" {
		err = ps.scanNpy(open, -1, loc)
	} else {
		_, err = ps.scanPickleContent(open, -1, loc, pids)
	}
	if err != nil {
		return ps.memberReadError(err, loc)
	}
	return nil
}
