package berth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// dockerManifestFile is the table of contents of a docker-archive.
const dockerManifestFile = "manifest.json"

// dockerArchiveItem is one image in a docker-archive's manifest.json.
type dockerArchiveItem struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// importDocker copies the images of the docker-archive src into the store
// as OCI images: the config bytes are kept (so the image ID stays), the
// layers are stored as they are in the archive, and an OCI manifest is
// written over them.
func (s *ImageStore) importDocker(ctx context.Context, w *ImageWriter, src imageSource, _ *ocispec.Platform) ([]importedImage, error) {
	data, err := readSource(src, dockerManifestFile, maxJSONBlob)
	if err != nil {
		return nil, err
	}
	var items []dockerArchiveItem
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, fmt.Errorf("decoding %s: %v: %w", dockerManifestFile, err, fs.ErrInvalid)
	}
	var out []importedImage
	for i, it := range items {
		im, err := importDockerItem(ctx, w, src, it)
		if err != nil {
			return nil, fmt.Errorf("%s item %d (%s): %w", dockerManifestFile, i, it.Config, err)
		}
		out = append(out, im)
	}
	return out, nil
}

func importDockerItem(ctx context.Context, w *ImageWriter, src imageSource, it dockerArchiveItem) (importedImage, error) {
	var im importedImage
	var err error
	if im.names, err = dockerItemNames(it); err != nil {
		return im, err
	}
	cfgData, err := readSource(src, it.Config, maxJSONBlob)
	if err != nil {
		return im, err
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(cfgData, &cfg); err != nil {
		return im, fmt.Errorf("decoding config: %v: %w", err, fs.ErrInvalid)
	}
	if len(cfg.RootFS.DiffIDs) != len(it.Layers) {
		return im, fmt.Errorf("config lists %d diffIDs for %d layers: %w", len(cfg.RootFS.DiffIDs), len(it.Layers), fs.ErrInvalid)
	}
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Layers: make([]ocispec.Descriptor, len(it.Layers))}
	err = forEach(ctx, len(it.Layers), copyParallelism, func(ctx context.Context, i int) error {
		d, err := importDockerLayer(ctx, w, src, it.Layers[i], cfg.RootFS.DiffIDs[i])
		if err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, it.Layers[i], err)
		}
		m.Layers[i] = d
		return nil
	})
	if err != nil {
		return im, err
	}
	cd, err := putBytes(ctx, w, ocispec.MediaTypeImageConfig, cfgData)
	if err != nil {
		return im, err
	}
	m.Config = ocispec.Descriptor{MediaType: cd.MediaType, Digest: cd.Digest, Size: cd.Size}
	md, err := layers.PutJSON(ctx, w, ocispec.MediaTypeImageManifest, m)
	if err != nil {
		return im, err
	}
	if cfg.OS != "" {
		md.Platform = &ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	}
	if _, err := LoadImage(ctx, w.s.layout, md); err != nil {
		return im, err
	}
	im.desc = md
	return im, nil
}

// dockerItemNames normalises the RepoTags of a manifest.json item.
func dockerItemNames(it dockerArchiveItem) ([]string, error) {
	var names []string
	for _, t := range it.RepoTags {
		name, err := archiveName(t, true)
		if err != nil {
			return nil, err
		}
		if name != "" {
			names = append(names, name)
		}
	}
	return names, nil
}

// importDockerLayer stores the layer tar at path lp, which must have the
// given diffID: an uncompressed one is verified as it is stored, a
// compressed one is decompressed again to check it.
func importDockerLayer(ctx context.Context, w *ImageWriter, src imageSource, lp string, diffID digest.Digest) (ocispec.Descriptor, error) {
	rc, size, err := src.open(lp)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	defer rc.Close()
	head := make([]byte, 4)
	n, err := io.ReadFull(rc, head)
	if err != nil && err != io.ErrUnexpectedEOF {
		return ocispec.Descriptor{}, fmt.Errorf("reading layer: %w", err)
	}
	c := layers.DetectCompression(head[:n])
	r := io.MultiReader(bytes.NewReader(head[:n]), rc)
	want := ocispec.Descriptor{MediaType: c.MediaType(), Size: size}
	if c == layers.Uncompressed {
		want.Digest = diffID
		return w.Ingest(ctx, r, want)
	}
	d, err := w.Ingest(ctx, r, want)
	if err != nil {
		return d, err
	}
	blob, err := w.s.layout.Open(ctx, d.Digest)
	if err != nil {
		return d, err
	}
	defer blob.Close()
	got, err := layers.DiffID(ctx, blob)
	if err != nil {
		return d, err
	}
	if got != diffID {
		return d, fmt.Errorf("layer content does not match the config: %w", &layers.DigestMismatchError{Want: diffID, Got: got, WantSize: -1, GotSize: -1})
	}
	return d, nil
}
