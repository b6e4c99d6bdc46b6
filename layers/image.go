package layers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PutImage writes an image's config and its manifest into ing and returns
// the manifest's descriptor, ready for [Layout.Tag]. layerDescs are the
// (compressed) layer blobs, bottom first, which must already be stored;
// config.RootFS.DiffIDs must list their diffIDs in the same order
// (wrapping fs.ErrInvalid otherwise). An empty RootFS.Type is set to
// "layers".
func PutImage(ctx context.Context, ing Ingester, config ocispec.Image, layerDescs []ocispec.Descriptor, annotations map[string]string) (ocispec.Descriptor, error) {
	if len(config.RootFS.DiffIDs) != len(layerDescs) {
		return ocispec.Descriptor{}, fmt.Errorf("writing image: %d diffIDs for %d layers: %w",
			len(config.RootFS.DiffIDs), len(layerDescs), fs.ErrInvalid)
	}
	for _, d := range append(append([]digest.Digest{}, config.RootFS.DiffIDs...), descDigests(layerDescs)...) {
		if err := d.Validate(); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("writing image: %w", err)
		}
	}
	if config.RootFS.Type == "" {
		config.RootFS.Type = "layers"
	}
	cfg, err := PutJSON(ctx, ing, ocispec.MediaTypeImageConfig, config)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("writing image config: %w", err)
	}
	m := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      ocispec.Descriptor{MediaType: cfg.MediaType, Digest: cfg.Digest, Size: cfg.Size},
		Layers:      append([]ocispec.Descriptor{}, layerDescs...),
		Annotations: annotations,
	}
	desc, err := PutJSON(ctx, ing, ocispec.MediaTypeImageManifest, m)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("writing image manifest: %w", err)
	}
	if config.Platform.OS != "" {
		desc.Platform = &ocispec.Platform{OS: config.OS, Architecture: config.Architecture, Variant: config.Variant}
	}
	return desc, nil
}

func descDigests(ds []ocispec.Descriptor) []digest.Digest {
	out := make([]digest.Digest, len(ds))
	for i, d := range ds {
		out[i] = d.Digest
	}
	return out
}

// PutLayer stores the layer tar read from r (uncompressed) in ing,
// compressed with c, and returns its descriptor (media type from c) and
// its diffID. Compression runs on its own goroutine, overlapping the
// hashing and writing.
func PutLayer(ctx context.Context, ing Ingester, r io.Reader, c Compression) (ocispec.Descriptor, digest.Digest, error) {
	pr, pw := io.Pipe()
	diffIDc := make(chan digest.Digest, 1)
	go func() {
		h := digest.SHA256.Digester()
		zw, err := Compress(pw, c)
		if err == nil {
			_, err = io.Copy(zw, io.TeeReader(ctxReader{ctx, r}, h.Hash()))
			err = errors.Join(err, zw.Close())
		}
		diffIDc <- h.Digest()
		pw.CloseWithError(err)
	}()
	desc, err := ing.Ingest(ctx, pr, ocispec.Descriptor{MediaType: c.MediaType()})
	pr.CloseWithError(errors.New("ingest ended"))
	diffID := <-diffIDc
	if err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("storing %s layer: %w", c, err)
	}
	return desc, diffID, nil
}
