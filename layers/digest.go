package layers

import (
	"context"
	_ "crypto/sha256" // registers SHA-256 for go-digest, which panics without it
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

// ChainID returns the chain ID of a stack of layers given by their diffIDs,
// bottom layer first, as defined by the OCI image spec: the chain ID of one
// layer is its diffID, and of n layers sha256(ChainID(n-1) + " " + diffID(n)).
// It returns "" for an empty slice. Snapshotters name committed layer
// snapshots by chain ID, so that equal stacks share snapshots.
func ChainID(diffIDs []digest.Digest) digest.Digest {
	if len(diffIDs) == 0 {
		return ""
	}
	id := diffIDs[0]
	for _, d := range diffIDs[1:] {
		id = digest.FromString(id.String() + " " + d.String())
	}
	return id
}

// ChainIDs returns the chain ID of each prefix of diffIDs: element i is
// ChainID(diffIDs[:i+1]).
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	for i := range diffIDs {
		if i == 0 {
			out[i] = diffIDs[0]
			continue
		}
		out[i] = digest.FromString(out[i-1].String() + " " + diffIDs[i].String())
	}
	return out
}

// DiffID returns the diffID of a layer: the SHA-256 digest of its
// uncompressed tar stream. r may be gzip- or zstd-compressed (detected by
// magic number) or plain. Cancelling ctx stops the reading.
func DiffID(ctx context.Context, r io.Reader) (digest.Digest, error) {
	dr, _, err := Decompress(r)
	if err != nil {
		return "", fmt.Errorf("computing diffID: %w", err)
	}
	defer dr.Close()
	d := digest.SHA256.Digester()
	if _, err := io.Copy(d.Hash(), ctxReader{ctx, dr}); err != nil {
		return "", fmt.Errorf("computing diffID: %w", err)
	}
	return d.Digest(), nil
}

// ctxReader makes a long read loop notice cancellation.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
