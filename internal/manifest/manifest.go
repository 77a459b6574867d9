// Package manifest builds, encodes and validates the manifest that
// identifies a model version in the vault.
//
// A manifest is an OCI image manifest in the shape of the CNCF ModelPack v1
// specification: artifactType application/vnd.cncf.model.manifest.v1+json, a
// config blob of type application/vnd.cncf.model.config.v1+json, and one raw
// layer per file, annotated with the file's path in the model. The digest of
// the encoded manifest is the model version's identity, so encoding is
// deterministic: the same files and options always give the same bytes. The
// same bytes can be pushed to any OCI registry unchanged.
//
// This package never reads blob content; it only describes it.
package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"sov.dev/sov/internal/digest"
)

// Media types of the OCI image and CNCF ModelPack v1 specifications.
const (
	MediaTypeManifest     = "application/vnd.oci.image.manifest.v1+json"
	ArtifactType          = "application/vnd.cncf.model.manifest.v1+json"
	MediaTypeConfig       = "application/vnd.cncf.model.config.v1+json"
	MediaTypeWeight       = "application/vnd.cncf.model.weight.v1.raw"
	MediaTypeWeightConfig = "application/vnd.cncf.model.weight.config.v1.raw"
	MediaTypeDoc          = "application/vnd.cncf.model.doc.v1.raw"
	MediaTypeCode         = "application/vnd.cncf.model.code.v1.raw"
	MediaTypeDataset      = "application/vnd.cncf.model.dataset.v1.raw"

	// AnnotationFilepath carries a layer's path inside the model.
	AnnotationFilepath = "org.cncf.model.filepath"
	// legacyAnnotationFilepath is the key used by the earlier CNAI draft;
	// it is accepted when reading.
	legacyAnnotationFilepath = "org.cnai.model.filepath"
)

// Limits on manifests read from untrusted places.
const (
	MaxManifestSize = 4 << 20
	MaxLayers       = 100_000
	MaxPathLen      = 4096
)

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      digest.Digest     `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Path returns the layer's file path annotation.
func (d Descriptor) Path() string {
	if p, ok := d.Annotations[AnnotationFilepath]; ok {
		return p
	}
	return d.Annotations[legacyAnnotationFilepath]
}

// Manifest is an OCI image manifest carrying a ModelPack model.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Config is the ModelPack model configuration (the config blob).
type Config struct {
	Descriptor ModelDescriptor `json:"descriptor"`
	ModelFS    ModelFS         `json:"modelfs"`
	Config     ModelConfig     `json:"config"`
}

// ModelDescriptor holds general information about the model.
type ModelDescriptor struct {
	Authors   []string `json:"authors,omitempty"`
	Family    string   `json:"family,omitempty"`
	Name      string   `json:"name,omitempty"`
	DocURL    string   `json:"docURL,omitempty"`
	SourceURL string   `json:"sourceURL,omitempty"`
	Datasets  []string `json:"datasetsURL,omitempty"`
	Version   string   `json:"version,omitempty"`
	Revision  string   `json:"revision,omitempty"`
	Vendor    string   `json:"vendor,omitempty"`
	Licenses  []string `json:"licenses,omitempty"`
	Title     string   `json:"title,omitempty"`
}

// ModelFS lists the layers' content digests.
type ModelFS struct {
	Type    string          `json:"type"`
	DiffIDs []digest.Digest `json:"diffIds"`
}

// ModelConfig holds the technical facts of the model.
type ModelConfig struct {
	Architecture string `json:"architecture,omitempty"`
	Format       string `json:"format,omitempty"`
	ParamSize    string `json:"paramSize,omitempty"`
	Precision    string `json:"precision,omitempty"`
	Quantization string `json:"quantization,omitempty"`
}

// File is one file of a model, already stored as a blob.
type File struct {
	Path      string // slash-separated, relative
	Digest    digest.Digest
	Size      int64
	MediaType string
}

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid manifest")

// Build returns the encoded config and manifest for files. Files are sorted
// by path so that the result does not depend on the order they were stored
// in. The config descriptor's digest is computed here; the caller stores
// the config bytes as a blob.
func Build(files []File, cfg Config) (configJSON, manifestJSON []byte, err error) {
	files = append([]File(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	seen := make(map[string]bool, len(files))
	for _, f := range files {
		if err := ValidatePath(f.Path); err != nil {
			return nil, nil, err
		}
		if seen[f.Path] {
			return nil, nil, fmt.Errorf("%w: duplicate file path %q", ErrInvalid, f.Path)
		}
		seen[f.Path] = true
	}
	cfg.ModelFS = ModelFS{Type: "layers", DiffIDs: make([]digest.Digest, 0, len(files))}
	layers := make([]Descriptor, 0, len(files))
	for _, f := range files {
		cfg.ModelFS.DiffIDs = append(cfg.ModelFS.DiffIDs, f.Digest)
		layers = append(layers, Descriptor{
			MediaType:   f.MediaType,
			Digest:      f.Digest,
			Size:        f.Size,
			Annotations: map[string]string{AnnotationFilepath: f.Path},
		})
	}
	configJSON, err = json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	m := Manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		ArtifactType:  ArtifactType,
		Config: Descriptor{
			MediaType: MediaTypeConfig,
			Digest:    digest.FromBytes(configJSON),
			Size:      int64(len(configJSON)),
		},
		Layers: layers,
	}
	manifestJSON, err = json.Marshal(m)
	return configJSON, manifestJSON, err
}

// Parse decodes and validates a manifest from untrusted bytes: known media
// types, valid digests, non-negative sizes and safe, unique file paths.
func Parse(b []byte) (*Manifest, error) {
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d byte limit", ErrInvalid, len(b), MaxManifestSize)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: schemaVersion %d, want 2", ErrInvalid, m.SchemaVersion)
	}
	if m.ArtifactType != ArtifactType && m.Config.MediaType != MediaTypeConfig {
		return nil, fmt.Errorf("%w: not a model manifest (artifactType %q, config %q)", ErrInvalid, m.ArtifactType, m.Config.MediaType)
	}
	if err := validateDescriptor(m.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(m.Layers) > MaxLayers {
		return nil, fmt.Errorf("%w: %d layers exceeds the limit of %d", ErrInvalid, len(m.Layers), MaxLayers)
	}
	seen := make(map[string]bool, len(m.Layers))
	for i, l := range m.Layers {
		if err := validateDescriptor(l); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		p := l.Path()
		if err := ValidatePath(p); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		if seen[p] {
			return nil, fmt.Errorf("%w: layer %d: duplicate file path %q", ErrInvalid, i, p)
		}
		seen[p] = true
	}
	return &m, nil
}

func validateDescriptor(d Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("%w: negative size %d", ErrInvalid, d.Size)
	}
	if d.MediaType == "" {
		return fmt.Errorf("%w: empty media type", ErrInvalid)
	}
	return nil
}

// ValidatePath checks that p is a clean, relative, slash-separated path that
// stays inside the model directory: no "..", no absolute path, no
// backslashes, drive letters or control characters.
func ValidatePath(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty file path", ErrInvalid)
	case len(p) > MaxPathLen:
		return fmt.Errorf("%w: file path longer than %d bytes", ErrInvalid, MaxPathLen)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: absolute file path %q", ErrInvalid, p)
	case strings.ContainsAny(p, "\\\x00"):
		return fmt.Errorf("%w: file path %q contains a backslash or NUL", ErrInvalid, p)
	case len(p) >= 2 && p[1] == ':':
		return fmt.Errorf("%w: file path %q looks like a drive path", ErrInvalid, p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: file path %q contains a control character", ErrInvalid, p)
		}
	}
	if path.Clean(p) != p {
		return fmt.Errorf("%w: file path %q is not clean", ErrInvalid, p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || el == "." {
			return fmt.Errorf("%w: file path %q leaves the model directory", ErrInvalid, p)
		}
	}
	return nil
}

// Blobs returns the config digest followed by every layer digest.
func (m *Manifest) Blobs() []digest.Digest {
	out := make([]digest.Digest, 0, 1+len(m.Layers))
	out = append(out, m.Config.Digest)
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}
