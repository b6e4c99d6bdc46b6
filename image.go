package berth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// Image is a container image read from a content store: its manifest, its
// config and the descriptors of its layers. It is immutable: every
// accessor returns a copy, so an *Image can be shared by goroutines
// freely. Make one with [LoadImage] or get one from an [ImageStore].
//
// Vocabulary: the image's digest is that of its manifest; its ID is the
// digest of its config (what Docker calls the image ID); each layer has a
// digest (of the blob as stored, maybe compressed) and a diffID (of the
// uncompressed tar); the chain ID of the layer stack names the snapshot
// that [Image.Unpack] leaves.
type Image struct {
	provider layers.Provider
	desc     ocispec.Descriptor
	manifest ocispec.Manifest
	config   ocispec.Image
}

// Media types of Docker's image format, which LoadImage reads alongside
// the OCI ones.
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	mediaTypeDockerLayer        = "application/vnd.docker.image.rootfs.diff.tar"
	mediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// maxJSONBlob bounds manifests, indexes and configs read into memory; the
// image spec lets registries refuse manifests above 4 MiB.
const maxJSONBlob = 4 << 20

// LoadImage reads the image whose manifest desc describes from p,
// verifying the size and digest of the manifest and the config. If desc
// is an image index (OCI or Docker manifest list), the manifest for the
// host's platform is chosen; if there is none, the error is a
// [*PlatformError] naming the platforms the index offers. Layers are not
// read until [Image.Unpack].
//
// It understands OCI image manifests and Docker schema 2 manifests.
// Other manifest or config media types (artifacts, Docker schema 1) wrap
// errors.ErrUnsupported; a malformed manifest or config, or a config whose
// diffIDs do not match the layers one to one, wraps fs.ErrInvalid;
// missing blobs wrap fs.ErrNotExist.
func LoadImage(ctx context.Context, p layers.Provider, desc ocispec.Descriptor) (*Image, error) {
	mdesc, err := selectManifest(ctx, p, desc, nil)
	if err != nil {
		return nil, err
	}
	img := &Image{provider: p, desc: mdesc}
	data, err := readBlob(ctx, p, mdesc, maxJSONBlob)
	if err != nil {
		return nil, fmt.Errorf("loading image %s: %w", mdesc.Digest, err)
	}
	if err := json.Unmarshal(data, &img.manifest); err != nil {
		return nil, fmt.Errorf("loading image %s: decoding manifest: %v: %w", mdesc.Digest, err, fs.ErrInvalid)
	}
	if err := img.checkManifest(); err != nil {
		return nil, fmt.Errorf("loading image %s: %w", mdesc.Digest, err)
	}
	if err := img.loadConfig(ctx); err != nil {
		return nil, fmt.Errorf("loading image %s: %w", mdesc.Digest, err)
	}
	if img.desc.MediaType == "" {
		img.desc.MediaType = img.manifest.MediaType
	}
	return img, nil
}

func (img *Image) checkManifest() error {
	m := &img.manifest
	switch m.MediaType {
	case "", ocispec.MediaTypeImageManifest, mediaTypeDockerManifest:
	default:
		return fmt.Errorf("manifest media type %q: %w", m.MediaType, errors.ErrUnsupported)
	}
	if m.SchemaVersion != 2 {
		return fmt.Errorf("manifest schema version %d: %w", m.SchemaVersion, errors.ErrUnsupported)
	}
	switch m.Config.MediaType {
	case ocispec.MediaTypeImageConfig, mediaTypeDockerConfig:
	default:
		return fmt.Errorf("config media type %q (not a container image): %w", m.Config.MediaType, errors.ErrUnsupported)
	}
	for i, l := range m.Layers {
		if !isLayerMediaType(l.MediaType) {
			return fmt.Errorf("layer %d: media type %q: %w", i, l.MediaType, errors.ErrUnsupported)
		}
		if err := l.Digest.Validate(); err != nil {
			return fmt.Errorf("layer %d: digest %q: %v: %w", i, l.Digest, err, fs.ErrInvalid)
		}
	}
	return nil
}

func (img *Image) loadConfig(ctx context.Context) error {
	data, err := readBlob(ctx, img.provider, img.manifest.Config, maxJSONBlob)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	if err := json.Unmarshal(data, &img.config); err != nil {
		return fmt.Errorf("decoding config %s: %v: %w", img.manifest.Config.Digest, err, fs.ErrInvalid)
	}
	rootfs := img.config.RootFS
	if rootfs.Type != "layers" {
		return fmt.Errorf("config %s: rootfs type %q, want \"layers\": %w", img.manifest.Config.Digest, rootfs.Type, fs.ErrInvalid)
	}
	if len(rootfs.DiffIDs) != len(img.manifest.Layers) {
		return fmt.Errorf("config %s lists %d diffIDs for %d layers: %w",
			img.manifest.Config.Digest, len(rootfs.DiffIDs), len(img.manifest.Layers), fs.ErrInvalid)
	}
	for i, d := range rootfs.DiffIDs {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("config %s: diffID %d %q: %v: %w", img.manifest.Config.Digest, i, d, err, fs.ErrInvalid)
		}
	}
	return nil
}

func isLayerMediaType(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayerZstd,
		ocispec.MediaTypeImageLayerNonDistributable, ocispec.MediaTypeImageLayerNonDistributableGzip, //nolint:staticcheck // still read
		ocispec.MediaTypeImageLayerNonDistributableZstd, //nolint:staticcheck // still read
		mediaTypeDockerLayer, mediaTypeDockerLayerGzip, mediaTypeDockerForeignLayer:
		return true
	}
	return false
}

// Descriptor returns the descriptor of the image's manifest (for an image
// loaded from an index, the index's entry for the chosen platform).
func (img *Image) Descriptor() ocispec.Descriptor { return copyDescriptor(img.desc) }

// Digest returns the digest of the image's manifest.
func (img *Image) Digest() digest.Digest { return img.desc.Digest }

// ID returns the image ID: the digest of its config, as Docker shows it
// in "docker images".
func (img *Image) ID() digest.Digest { return img.manifest.Config.Digest }

// Manifest returns a deep copy of the image manifest.
func (img *Image) Manifest() ocispec.Manifest { return copyManifest(img.manifest) }

// Config returns a deep copy of the image config: changing it does not
// change the image.
func (img *Image) Config() ocispec.Image { return copyConfig(img.config) }

// Layers returns copies of the layer descriptors, bottom layer first.
func (img *Image) Layers() []ocispec.Descriptor { return copyDescriptors(img.manifest.Layers) }

// DiffIDs returns the diffIDs of the layers, bottom layer first.
func (img *Image) DiffIDs() []digest.Digest {
	return append([]digest.Digest(nil), img.config.RootFS.DiffIDs...)
}

// ChainID returns the chain ID of the image's layer stack, the name of
// the committed snapshot [Image.Unpack] leaves; "" for an image without
// layers.
func (img *Image) ChainID() digest.Digest { return layers.ChainID(img.config.RootFS.DiffIDs) }

// Platform returns the platform the image's config declares.
func (img *Image) Platform() ocispec.Platform { return copyPlatform(img.config.Platform) }

// Size returns the bytes the image occupies in a content store: manifest,
// config and layer blobs as stored (compressed).
func (img *Image) Size() int64 {
	n := img.desc.Size + img.manifest.Config.Size
	for _, l := range img.manifest.Layers {
		n += l.Size
	}
	return n
}
