package berth

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// readBlob reads the blob of desc from p into memory, refusing blobs
// larger than limit and checking size and digest.
func readBlob(ctx context.Context, p layers.Provider, desc ocispec.Descriptor, limit int64) ([]byte, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("reading blob %q: %w", desc.Digest, err)
	}
	if desc.Size < 0 || desc.Size > limit {
		return nil, fmt.Errorf("reading blob %s: size %d exceeds %d bytes: %w", desc.Digest, desc.Size, limit, layers.ErrTooLarge)
	}
	rc, err := p.Open(ctx, desc.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", desc.Digest, err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	buf.Grow(int(desc.Size))
	if _, err := buf.ReadFrom(io.LimitReader(rc, desc.Size+1)); err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", desc.Digest, err)
	}
	data := buf.Bytes()
	if got := desc.Digest.Algorithm().FromBytes(data); int64(len(data)) != desc.Size || got != desc.Digest {
		return nil, fmt.Errorf("reading blob: %w",
			&layers.DigestMismatchError{Want: desc.Digest, Got: got, WantSize: desc.Size, GotSize: int64(len(data))})
	}
	return data, nil
}

// putBytes stores data in ing as a blob of the given media type.
func putBytes(ctx context.Context, ing layers.Ingester, mediaType string, data []byte) (ocispec.Descriptor, error) {
	want := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	return ing.Ingest(ctx, bytes.NewReader(data), want)
}
