package berth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// annotationContainerdName is where containerd (and "docker save" since
// Docker 25) keeps an image's full name in an OCI layout, ref.name holding
// only the tag.
const annotationContainerdName = "io.containerd.image.name"

// importOCI copies the images of the OCI layout in src into the store.
func (s *ImageStore) importOCI(ctx context.Context, w *ImageWriter, src imageSource, p *ocispec.Platform) ([]importedImage, error) {
	if err := checkLayoutMarker(src); err != nil {
		return nil, err
	}
	data, err := readSource(src, ocispec.ImageIndexFile, maxJSONBlob)
	if err != nil {
		return nil, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("decoding index.json: %v: %w", err, fs.ErrInvalid)
	}
	prov := sourceProvider{src}
	var out []importedImage
	for i, e := range idx.Manifests {
		name, err := ociEntryName(e)
		if err != nil {
			return nil, err
		}
		mdesc, err := selectManifest(ctx, prov, e, p)
		if err != nil {
			return nil, fmt.Errorf("index.json entry %d: %w", i, err)
		}
		if mdesc.Platform == nil && e.Platform != nil {
			mdesc.Platform = e.Platform
		}
		if mdesc, err = copyImage(ctx, w, prov, mdesc); err != nil {
			return nil, fmt.Errorf("index.json entry %d (%s): %w", i, mdesc.Digest, err)
		}
		im := importedImage{desc: entryDesc(mdesc)}
		if name != "" {
			im.names = []string{name}
		}
		out = append(out, im)
	}
	return out, nil
}

// checkLayoutMarker checks the oci-layout file, if there is one.
func checkLayoutMarker(src imageSource) error {
	if !src.has(ocispec.ImageLayoutFile) {
		return nil
	}
	data, err := readSource(src, ocispec.ImageLayoutFile, 4096)
	if err != nil {
		return err
	}
	var m ocispec.ImageLayout
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("decoding oci-layout: %v: %w", err, fs.ErrInvalid)
	}
	if m.Version != ocispec.ImageLayoutVersion {
		return fmt.Errorf("image layout version %q: %w", m.Version, errors.ErrUnsupported)
	}
	return nil
}

// ociEntryName is the name an index.json entry gives its image.
func ociEntryName(e ocispec.Descriptor) (string, error) {
	if n := e.Annotations[annotationContainerdName]; n != "" {
		return archiveName(n, true)
	}
	return archiveName(e.Annotations[ocispec.AnnotationRefName], false)
}

// copyImage copies the image manifest mdesc and its config and layers
// from src into w, verifying each blob, checks that the result loads, and
// returns mdesc with its media type filled in.
func copyImage(ctx context.Context, w *ImageWriter, src layers.Provider, mdesc ocispec.Descriptor) (ocispec.Descriptor, error) {
	data, err := readBlob(ctx, src, mdesc, maxJSONBlob)
	if err != nil {
		return mdesc, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return mdesc, fmt.Errorf("decoding manifest: %v: %w", err, fs.ErrInvalid)
	}
	if mdesc.MediaType == "" {
		mdesc.MediaType = cmp.Or(m.MediaType, ocispec.MediaTypeImageManifest)
	}
	blobs := append([]ocispec.Descriptor{m.Config}, m.Layers...)
	err = forEach(ctx, len(blobs), copyParallelism, func(ctx context.Context, i int) error {
		return copyBlob(ctx, w, src, blobs[i])
	})
	if err != nil {
		return mdesc, err
	}
	if _, err := putBytes(ctx, w, mdesc.MediaType, data); err != nil {
		return mdesc, err
	}
	img, err := LoadImage(ctx, w.s.layout, mdesc)
	if err != nil {
		return mdesc, err
	}
	if mdesc.Platform == nil && img.config.OS != "" {
		p := ocispec.Platform{OS: img.config.OS, Architecture: img.config.Architecture, Variant: img.config.Variant}
		mdesc.Platform = &p
	}
	return mdesc, nil
}

// copyBlob copies the blob of d from src into w unless the store has it.
func copyBlob(ctx context.Context, w *ImageWriter, src layers.Provider, d ocispec.Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("copying blob %q: %v: %w", d.Digest, err, fs.ErrInvalid)
	}
	if _, err := w.s.layout.Stat(ctx, d.Digest); err == nil {
		return nil
	}
	rc, err := src.Open(ctx, d.Digest)
	if err != nil {
		return fmt.Errorf("copying blob %s: %w", d.Digest, err)
	}
	defer rc.Close()
	if _, err := w.Ingest(ctx, rc, d); err != nil {
		return fmt.Errorf("copying blob %s: %w", d.Digest, err)
	}
	return nil
}
