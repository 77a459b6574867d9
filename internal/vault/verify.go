package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"golang.org/x/sync/errgroup"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/manifest"
)

// Verification states of a file.
const (
	StatusOK        = "ok"
	StatusMissing   = "missing"
	StatusCorrupted = "corrupted"
	StatusError     = "error" // could not be read (permissions, I/O error)
)

// FileCheck is the verification result of one file of a model.
type FileCheck struct {
	Path   string        `json:"path"` // "(config)" or "(manifest)" for the model's own metadata
	Digest digest.Digest `json:"digest"`
	Size   int64         `json:"size"`
	Status string        `json:"status"`
	Actual digest.Digest `json:"actual,omitempty"` // for corrupted files
	Error  string        `json:"error,omitempty"`
}

// ModelCheck is the verification result of one model version.
type ModelCheck struct {
	Name   string        `json:"name"`
	Tag    string        `json:"tag"`
	Digest digest.Digest `json:"digest"`
	OK     bool          `json:"ok"`
	Files  []FileCheck   `json:"files"`
}

// VerifyReport is the result of Verify.
type VerifyReport struct {
	OK     bool         `json:"ok"`
	Models []ModelCheck `json:"models"`
	Bytes  int64        `json:"bytes"` // bytes re-hashed
}

// Verify re-hashes every blob of the named model versions (all of them when
// refs is empty) in parallel, streaming, and reports every missing or
// corrupted file by its path in the model. Each blob is hashed once even if
// several models share it.
func (v *Vault) Verify(ctx context.Context, refs []string, p Progress) (*VerifyReport, error) {
	var targets []*resolved
	if len(refs) == 0 {
		models, err := v.meta.Models(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range models {
			r, err := v.resolve(ctx, m.Digest.String())
			if err != nil {
				// An unreadable manifest is itself a finding.
				targets = append(targets, &resolved{model: m})
				continue
			}
			targets = append(targets, r)
		}
	} else {
		for _, s := range refs {
			r, err := v.resolve(ctx, s)
			if err != nil {
				return nil, err
			}
			targets = append(targets, r)
		}
	}

	// Hash each distinct blob once.
	sizes := make(map[digest.Digest]int64)
	for _, t := range targets {
		if t.man == nil {
			continue
		}
		sizes[t.man.Config.Digest] = t.man.Config.Size
		for _, l := range t.man.Layers {
			sizes[l.Digest] = l.Size
		}
	}
	if p != nil {
		var total int64
		for _, s := range sizes {
			total += s
		}
		p.AddTotal(total)
	}
	results := make(map[digest.Digest]FileCheck, len(sizes))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, v.Parallel))
	for d, size := range sizes {
		g.Go(func() error {
			c := v.checkBlob(gctx, d, size, p)
			if gctx.Err() != nil {
				return context.Cause(gctx)
			}
			mu.Lock()
			results[d] = c
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("verify interrupted: %w", err)
	}

	rep := &VerifyReport{OK: true, Models: []ModelCheck{}}
	for _, c := range results {
		rep.Bytes += c.Size
	}
	for _, t := range targets {
		mc := ModelCheck{Name: t.ref.Name, Tag: t.ref.Tag, Digest: t.model.Digest, OK: true}
		if got := digest.FromBytes(t.model.Manifest); got != t.model.Digest || t.man == nil {
			mc.Files = append(mc.Files, FileCheck{Path: "(manifest)", Digest: t.model.Digest, Size: int64(len(t.model.Manifest)), Status: StatusCorrupted, Actual: got})
		}
		if t.man != nil {
			c := results[t.man.Config.Digest]
			c.Path = "(config)"
			mc.Files = append(mc.Files, c)
			layers := append([]manifest.Descriptor(nil), t.man.Layers...)
			sort.Slice(layers, func(i, j int) bool { return layers[i].Path() < layers[j].Path() })
			for _, l := range layers {
				c := results[l.Digest]
				c.Path = l.Path()
				mc.Files = append(mc.Files, c)
			}
		}
		for _, f := range mc.Files {
			if f.Status != StatusOK {
				mc.OK = false
			}
		}
		rep.OK = rep.OK && mc.OK
		rep.Models = append(rep.Models, mc)
	}
	return rep, nil
}

// checkBlob re-hashes one blob and compares it with its digest and size.
func (v *Vault) checkBlob(ctx context.Context, d digest.Digest, size int64, p Progress) FileCheck {
	c := FileCheck{Digest: d, Size: size}
	r, err := v.blobs.Open(ctx, d)
	if errors.Is(err, blob.ErrNotFound) {
		c.Status = StatusMissing
		return c
	}
	if err != nil {
		c.Status, c.Error = StatusError, err.Error()
		return c
	}
	defer r.Close()
	h := digest.NewHash()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if ctx.Err() != nil {
			c.Status, c.Error = StatusError, ctx.Err().Error()
			return c
		}
		k, err := r.Read(buf)
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			if p != nil {
				p.Add(int64(k))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			c.Status, c.Error = StatusError, err.Error()
			return c
		}
	}
	got := digest.FromHash(h)
	switch {
	case got != d:
		c.Status, c.Actual = StatusCorrupted, got
		if n != size {
			c.Error = fmt.Sprintf("size %d, want %d", n, size)
		}
	case n != size:
		c.Status, c.Error = StatusCorrupted, fmt.Sprintf("size %d, want %d", n, size)
	default:
		c.Status = StatusOK
	}
	return c
}
