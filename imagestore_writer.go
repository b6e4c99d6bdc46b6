package berth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// ImageWriter adds images to an [ImageStore]: write the layers, then the
// config and manifest with [ImageWriter.WriteImage], which registers the
// image (without a name), then name it with [ImageStore.Tag]. While the
// writer is open it holds the store's lock shared, so that [ImageStore.GC]
// and [ImageStore.Remove] cannot delete blobs written but not yet part of
// a registered image; close it promptly. An ImageWriter is safe for
// concurrent use; several writers may be open at once.
type ImageWriter struct {
	s    *ImageStore
	mu   sync.Mutex
	lock *storeLock
}

// NewWriter opens a writer, waiting while a GC or Remove holds the store
// (or until ctx is done). The caller must Close it.
func (s *ImageStore) NewWriter(ctx context.Context) (*ImageWriter, error) {
	lock, err := s.lockStore(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("opening image writer: %w", err)
	}
	return &ImageWriter{s: s, lock: lock}, nil
}

var errWriterClosed = errors.New("image writer is closed")

func (w *ImageWriter) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lock == nil {
		return errWriterClosed
	}
	return nil
}

// Close releases the store lock. Blobs written but not part of an image
// written with WriteImage become garbage for the next GC. Closing twice
// is not an error.
func (w *ImageWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lock == nil {
		return nil
	}
	err := w.lock.unlock()
	w.lock = nil
	return err
}

// Ingest stores the blob read from r, verified against want (see
// [layers.Layout.Ingest]), and returns its descriptor, so that an
// ImageWriter is a [layers.Ingester] (for [layers.PutJSON] and the like).
func (w *ImageWriter) Ingest(ctx context.Context, r io.Reader, want ocispec.Descriptor) (ocispec.Descriptor, error) {
	if err := w.check(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("writing blob: %w", err)
	}
	return w.s.layout.Ingest(ctx, r, want)
}

// WriteLayer stores the uncompressed layer tar read from r, compressed
// with c, and returns its descriptor and diffID (see [layers.PutLayer]).
func (w *ImageWriter) WriteLayer(ctx context.Context, r io.Reader, c layers.Compression) (ocispec.Descriptor, digest.Digest, error) {
	if err := w.check(); err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("writing layer: %w", err)
	}
	return layers.PutLayer(ctx, w.s.layout, r, c)
}

// WriteImage writes config and an OCI manifest over layerDescs (blobs
// already in the store, bottom first; config.RootFS.DiffIDs must list
// their diffIDs) and registers the image in the store without a name,
// unless it is there already. An empty RootFS.Type is set to "layers".
// Name the image with Tag(ctx, img.Digest().String(), name). Errors are
// those of [ImageWriter.WriteRawImage].
func (w *ImageWriter) WriteImage(ctx context.Context, config ocispec.Image, layerDescs []ocispec.Descriptor, annotations map[string]string) (*Image, error) {
	if config.RootFS.Type == "" {
		config.RootFS.Type = "layers"
	}
	data, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("writing image: encoding config: %w", err)
	}
	return w.WriteRawImage(ctx, data, layerDescs, annotations)
}

// WriteRawImage is [ImageWriter.WriteImage] for a config given as JSON:
// config is stored byte for byte (media type
// application/vnd.oci.image.config.v1+json), so that it may carry fields
// [ocispec.Image] lacks, such as the Healthcheck, OnBuild and Shell that
// Docker and BuildKit write into "config". It must decode as an image
// config whose rootfs has type "layers" and lists one diffID per entry
// of layerDescs (else the error wraps fs.ErrInvalid); the layers must be
// in the store (else fs.ErrNotExist). The manifest records annotations
// (nil: none) and the index entry the config's platform. It returns the
// image, registered without a name unless the store had it already.
func (w *ImageWriter) WriteRawImage(ctx context.Context, config []byte, layerDescs []ocispec.Descriptor, annotations map[string]string) (*Image, error) {
	if err := w.check(); err != nil {
		return nil, fmt.Errorf("writing image: %w", err)
	}
	cfg, err := checkRawConfig(config, layerDescs)
	if err != nil {
		return nil, fmt.Errorf("writing image: %w", err)
	}
	for _, l := range layerDescs {
		if _, err := w.s.layout.Stat(ctx, l.Digest); err != nil {
			return nil, fmt.Errorf("writing image: layer %s: %w", l.Digest, err)
		}
	}
	desc, err := w.putManifest(ctx, config, layerDescs, annotations)
	if err != nil {
		return nil, fmt.Errorf("writing image: %w", err)
	}
	if cfg.OS != "" {
		desc.Platform = &ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	}
	img, err := LoadImage(ctx, w.s.layout, desc)
	if err != nil {
		return nil, fmt.Errorf("writing image: %w", err)
	}
	if err := w.s.register(ctx, desc, nil); err != nil {
		return nil, fmt.Errorf("writing image: %w", err)
	}
	return img, nil
}

// checkRawConfig decodes config and checks its rootfs against layerDescs.
func checkRawConfig(config []byte, layerDescs []ocispec.Descriptor) (ocispec.Image, error) {
	var cfg ocispec.Image
	if err := json.Unmarshal(config, &cfg); err != nil {
		return cfg, fmt.Errorf("decoding config: %v: %w", err, fs.ErrInvalid)
	}
	if cfg.RootFS.Type != "layers" {
		return cfg, fmt.Errorf("config rootfs type %q, want \"layers\": %w", cfg.RootFS.Type, fs.ErrInvalid)
	}
	if len(cfg.RootFS.DiffIDs) != len(layerDescs) {
		return cfg, fmt.Errorf("config lists %d diffIDs for %d layers: %w", len(cfg.RootFS.DiffIDs), len(layerDescs), fs.ErrInvalid)
	}
	for _, d := range cfg.RootFS.DiffIDs {
		if err := d.Validate(); err != nil {
			return cfg, fmt.Errorf("config diffID %q: %v: %w", d, err, fs.ErrInvalid)
		}
	}
	for _, l := range layerDescs {
		if err := l.Digest.Validate(); err != nil {
			return cfg, fmt.Errorf("layer digest %q: %v: %w", l.Digest, err, fs.ErrInvalid)
		}
	}
	return cfg, nil
}

// putManifest stores the config blob and an OCI manifest over it.
func (w *ImageWriter) putManifest(ctx context.Context, config []byte, layerDescs []ocispec.Descriptor, annotations map[string]string) (ocispec.Descriptor, error) {
	want := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(config), Size: int64(len(config))}
	cfgDesc, err := w.s.layout.Ingest(ctx, bytes.NewReader(config), want)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("writing config: %w", err)
	}
	m := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      ocispec.Descriptor{MediaType: cfgDesc.MediaType, Digest: cfgDesc.Digest, Size: cfgDesc.Size},
		Layers:      append([]ocispec.Descriptor{}, layerDescs...),
		Annotations: annotations,
	}
	desc, err := layers.PutJSON(ctx, w.s.layout, ocispec.MediaTypeImageManifest, m)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("writing manifest: %w", err)
	}
	return desc, nil
}

// register records desc in the index under names (normalised already),
// or without a name if names is empty and the index lacks it.
func (s *ImageStore) register(ctx context.Context, desc ocispec.Descriptor, names []string) error {
	return s.layout.UpdateIndex(ctx, func(idx *ocispec.Index) error {
		if len(names) == 0 {
			addNameless(idx, desc)
		}
		for _, n := range names {
			setName(idx, n, desc)
		}
		return nil
	})
}
