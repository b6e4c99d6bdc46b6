package layers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Provider opens blobs by digest.
type Provider interface {
	// Open returns a reader of the blob. It wraps fs.ErrNotExist when the
	// store has no such blob. The caller must Close the reader.
	Open(ctx context.Context, dgst digest.Digest) (io.ReadCloser, error)
}

// Ingester writes blobs.
type Ingester interface {
	// Ingest copies r into the store as one blob and returns its
	// descriptor. The blob becomes visible only once it is complete and
	// verified against want: a size or digest mismatch returns a
	// [*DigestMismatchError] and nothing is kept.
	Ingest(ctx context.Context, r io.Reader, want ocispec.Descriptor) (ocispec.Descriptor, error)
}

// BlobInfo describes one stored blob.
type BlobInfo struct {
	Digest  digest.Digest
	Size    int64
	ModTime time.Time // when the blob was written
}

// Store is a content-addressed blob store: [Provider] and [Ingester] plus
// inspection and deletion. [Layout] implements it.
type Store interface {
	Provider
	Ingester
	// Stat describes a blob, wrapping fs.ErrNotExist if it is absent.
	Stat(ctx context.Context, dgst digest.Digest) (BlobInfo, error)
	// Delete removes a blob, wrapping fs.ErrNotExist if it is absent.
	// Readers that have it open keep reading the old bytes.
	Delete(ctx context.Context, dgst digest.Digest) error
	// Walk calls fn for each blob, in no particular order, until fn
	// returns an error, which Walk returns.
	Walk(ctx context.Context, fn func(BlobInfo) error) error
}

// PutJSON marshals v and ingests it as a blob of the given media type (an
// image manifest, index or config), returning its descriptor.
func PutJSON(ctx context.Context, ing Ingester, mediaType string, v any) (ocispec.Descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("encoding %s: %w", mediaType, err)
	}
	want := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	return ing.Ingest(ctx, bytes.NewReader(data), want)
}

// GetJSON reads the blob of desc from p, checks its size and digest, and
// unmarshals it into v. Blobs larger than 4 MiB are refused, as the image
// spec allows registries to do for manifests.
func GetJSON(ctx context.Context, p Provider, desc ocispec.Descriptor, v any) error {
	if err := desc.Digest.Validate(); err != nil {
		return fmt.Errorf("reading %s %q: %w", desc.MediaType, desc.Digest, err)
	}
	const limit = 4 << 20
	if desc.Size > limit || desc.Size < 0 {
		return fmt.Errorf("reading %s %s: size %d: %w", desc.MediaType, desc.Digest, desc.Size, ErrTooLarge)
	}
	rc, err := p.Open(ctx, desc.Digest)
	if err != nil {
		return fmt.Errorf("reading %s %s: %w", desc.MediaType, desc.Digest, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, desc.Size+1))
	if err != nil {
		return fmt.Errorf("reading %s %s: %w", desc.MediaType, desc.Digest, err)
	}
	if got := digest.FromBytes(data); int64(len(data)) != desc.Size || got != desc.Digest {
		return fmt.Errorf("reading %s: %w", desc.MediaType,
			&DigestMismatchError{Want: desc.Digest, Got: got, WantSize: desc.Size, GotSize: int64(len(data))})
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s %s: %w", desc.MediaType, desc.Digest, err)
	}
	return nil
}
