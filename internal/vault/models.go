package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"sov.dev/sov/internal/blob"
	"sov.dev/sov/internal/digest"
	"sov.dev/sov/internal/manifest"
	"sov.dev/sov/internal/modelinfo"
	"sov.dev/sov/internal/store"
)

// Entry is one line of List: a reference and the version it points at.
type Entry struct {
	Name           string        `json:"name"`
	Tag            string        `json:"tag"`
	Digest         digest.Digest `json:"digest"`
	Format         string        `json:"format"`
	Architecture   string        `json:"architecture,omitempty"`
	ParameterCount uint64        `json:"parameter_count,omitempty"`
	Quantization   string        `json:"quantization,omitempty"`
	Size           int64         `json:"size"`
	Files          int           `json:"files"`
	Updated        time.Time     `json:"updated"`
}

// List returns every reference, sorted by name and tag, followed by model
// versions no reference points at (Name "<none>").
func (v *Vault) List(ctx context.Context) ([]Entry, error) {
	refs, err := v.meta.Refs(ctx)
	if err != nil {
		return nil, err
	}
	models, err := v.meta.Models(ctx)
	if err != nil {
		return nil, err
	}
	byDigest := make(map[digest.Digest]store.Model, len(models))
	for _, m := range models {
		byDigest[m.Digest] = m
	}
	referenced := make(map[digest.Digest]bool)
	var out []Entry
	for _, r := range refs {
		referenced[r.Digest] = true
		m, ok := byDigest[r.Digest]
		if !ok {
			continue
		}
		e, err := entryFor(r.Name, r.Tag, r.Updated, m)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	for _, m := range models {
		if referenced[m.Digest] {
			continue
		}
		e, err := entryFor("<none>", "<none>", m.Created, m)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func entryFor(name, tag string, updated time.Time, m store.Model) (Entry, error) {
	var f Facts
	if err := json.Unmarshal(m.Facts, &f); err != nil {
		return Entry{}, fmt.Errorf("model %s: reading recorded facts: %w", m.Digest.Short(), err)
	}
	e := Entry{
		Name: name, Tag: tag, Digest: m.Digest, Updated: updated,
		Format: f.Format, Architecture: f.Architecture, ParameterCount: f.ParameterCount,
		Quantization: f.Quantization, Files: len(f.Files),
	}
	for _, file := range f.Files {
		e.Size += file.Size
	}
	return e, nil
}

// Info is the full description of a model version: the body of
// `sov model inspect --json`. Its fields are documented in docs/cli.md.
type Info struct {
	Name     string        `json:"name"`
	Tag      string        `json:"tag"`
	Digest   digest.Digest `json:"digest"`
	Created  time.Time     `json:"created"`
	Source   string        `json:"source,omitempty"`
	Revision string        `json:"revision,omitempty"`
	Size     int64         `json:"size"`
	Facts
}

// resolved is a model version found by reference.
type resolved struct {
	ref   Reference // with Name/Tag filled in when known
	model store.Model
	man   *manifest.Manifest
}

// resolve finds the model a reference names.
func (v *Vault) resolve(ctx context.Context, s string) (*resolved, error) {
	ref, err := ParseReference(s)
	if err != nil {
		return nil, err
	}
	var d digest.Digest
	switch {
	case ref.Digest != "":
		d = ref.Digest
	case ref.Prefix != "":
		models, err := v.meta.Models(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range models {
			if strings.HasPrefix(m.Digest.Hex(), ref.Prefix) {
				if d != "" {
					return nil, fmt.Errorf("digest prefix %s is ambiguous: give more digits", ref.Prefix)
				}
				d = m.Digest
			}
		}
		if d == "" {
			return nil, fmt.Errorf("%w: no model with digest %s…", ErrNotFound, ref.Prefix)
		}
	default:
		r, err := v.meta.Resolve(ctx, ref.Name, ref.Tag)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s (see `sov model list`)", ErrNotFound, ref)
		}
		if err != nil {
			return nil, err
		}
		d = r.Digest
	}
	m, err := v.meta.Model(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, d)
	}
	if err != nil {
		return nil, err
	}
	man, err := manifest.Parse(m.Manifest)
	if err != nil {
		return nil, fmt.Errorf("model %s: stored manifest: %w", d.Short(), err)
	}
	if ref.IsDigest() {
		// Name it by one of its references, if it has any.
		refs, err := v.meta.Refs(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range refs {
			if r.Digest == d {
				ref.Name, ref.Tag = r.Name, r.Tag
				break
			}
		}
	}
	return &resolved{ref: ref, model: m, man: man}, nil
}

// Inspect returns everything the vault knows about a model version.
func (v *Vault) Inspect(ctx context.Context, ref string) (*Info, error) {
	r, err := v.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	info := &Info{Name: r.ref.Name, Tag: r.ref.Tag, Digest: r.model.Digest, Created: r.model.Created}
	if err := json.Unmarshal(r.model.Facts, &info.Facts); err != nil {
		return nil, fmt.Errorf("model %s: reading recorded facts: %w", r.model.Digest.Short(), err)
	}
	if r.model.Source != "import" {
		info.Source = r.model.Source
	}
	if cfg, err := v.config(ctx, r.man); err == nil {
		info.Revision = cfg.Descriptor.Revision
		if info.Source == "" {
			info.Source = cfg.Descriptor.SourceURL
		}
	}
	for _, f := range info.Files {
		info.Size += f.Size
	}
	return info, nil
}

// config reads a model's ModelPack config blob.
func (v *Vault) config(ctx context.Context, m *manifest.Manifest) (*manifest.Config, error) {
	r, err := v.blobs.Open(ctx, m.Config.Digest)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var cfg manifest.Config
	if err := json.NewDecoder(r).Decode(&cfg); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Manifest returns a model version's manifest bytes and digest.
func (v *Vault) Manifest(ctx context.Context, ref string) ([]byte, digest.Digest, error) {
	r, err := v.resolve(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	return r.model.Manifest, r.model.Digest, nil
}

// Tag points dst (NAME[:TAG]) at the version src names.
func (v *Vault) Tag(ctx context.Context, src, dst string) error {
	r, err := v.resolve(ctx, src)
	if err != nil {
		return err
	}
	to, err := ParseName(dst)
	if err != nil {
		return err
	}
	return v.meta.SetRef(ctx, store.Ref{Name: to.Name, Tag: to.Tag, Digest: r.model.Digest, Updated: v.now().UTC()})
}

// RemoveResult reports what Remove did.
type RemoveResult struct {
	Untagged     []string      `json:"untagged"`
	Deleted      digest.Digest `json:"deleted,omitempty"` // the version, when nothing refers to it any more
	FreeableSize int64         `json:"freeable_size"`     // bytes `sov gc` can now reclaim at most
}

// Remove deletes a reference. When no reference to the version remains (or
// it was named by digest), the version itself is deleted; its blobs stay
// until `sov gc` removes those no other version uses.
func (v *Vault) Remove(ctx context.Context, ref string) (*RemoveResult, error) {
	r, err := v.resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	res := &RemoveResult{}
	refs, err := v.meta.Refs(ctx)
	if err != nil {
		return nil, err
	}
	remaining := 0
	for _, x := range refs {
		if x.Digest != r.model.Digest {
			continue
		}
		if r.ref.IsDigest() || (x.Name == r.ref.Name && x.Tag == r.ref.Tag) {
			if err := v.meta.DeleteRef(ctx, x.Name, x.Tag); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			res.Untagged = append(res.Untagged, x.Name+":"+x.Tag)
			continue
		}
		remaining++
	}
	if remaining == 0 {
		if err := v.meta.DeleteModel(ctx, r.model.Digest); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		res.Deleted = r.model.Digest
		for _, l := range r.man.Layers {
			res.FreeableSize += l.Size
		}
	}
	sort.Strings(res.Untagged)
	return res, nil
}

// WeightsFile returns the local path of a model's main GGUF file (the
// largest one), for runtimes that memory-map it, and the model's
// description.
func (v *Vault) WeightsFile(ctx context.Context, ref string) (string, *Info, error) {
	info, err := v.Inspect(ctx, ref)
	if err != nil {
		return "", nil, err
	}
	best := modelinfo.MainGGUF(info.Files)
	if best == nil {
		return "", nil, fmt.Errorf("%s:%s holds no GGUF file (format %q); the engine runs GGUF models", info.Name, info.Tag, info.Format)
	}
	p, ok := v.blobs.(blob.Pather)
	if !ok {
		return "", nil, errors.New("the blob store does not keep local files")
	}
	path, err := p.Path(best.Digest)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w (run `sov model verify`)", best.Path, err)
	}
	return path, info, nil
}
