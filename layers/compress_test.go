package layers_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

func compress(t *testing.T, data []byte, c layers.Compression) []byte {
	var buf bytes.Buffer
	w, err := layers.Compress(&buf, c)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestCompressionDetectedByMagic(t *testing.T) {
	layer := lt.Tar(t, lt.Dir("d"), lt.File("d/f", string(bytes.Repeat([]byte("abc"), 10000)), 0o644))
	want := digest.FromBytes(layer)
	var trees [][]string
	for _, c := range []layers.Compression{layers.Uncompressed, layers.Gzip, layers.Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			data := compress(t, layer, c)
			assert.Equal(t, c, layers.DetectCompression(data))
			r, got, err := layers.Decompress(bytes.NewReader(data))
			require.NoError(t, err)
			assert.Equal(t, c, got)
			plain, err := io.ReadAll(r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			assert.Equal(t, layer, plain)

			diffID, err := layers.DiffID(t.Context(), bytes.NewReader(data))
			require.NoError(t, err)
			assert.Equal(t, want, diffID)

			dir := lt.TempDir(t)
			diffID, err = layers.Apply(t.Context(), dir, bytes.NewReader(data), unpriv)
			require.NoError(t, err)
			assert.Equal(t, want, diffID, "Apply returns the diffID of the uncompressed stream")
			trees = append(trees, lt.Tree(t, dir, lt.TreeOptions{NoOwners: true, NoRootMeta: true}))
		})
	}
	require.Len(t, trees, 3)
	assert.Equal(t, trees[0], trees[1])
	assert.Equal(t, trees[0], trees[2])
}

func TestCompressionMediaTypes(t *testing.T) {
	assert.Equal(t, ocispec.MediaTypeImageLayer, layers.Uncompressed.MediaType())
	assert.Equal(t, ocispec.MediaTypeImageLayerGzip, layers.Gzip.MediaType())
	assert.Equal(t, ocispec.MediaTypeImageLayerZstd, layers.Zstd.MediaType())
	_, err := layers.Compress(io.Discard, layers.Compression(42))
	assert.Error(t, err)
}

func TestChainIDs(t *testing.T) {
	ids := []digest.Digest{digest.FromString("a"), digest.FromString("b"), digest.FromString("c")}
	chains := layers.ChainIDs(ids)
	for i := range ids {
		assert.Equal(t, layers.ChainID(ids[:i+1]), chains[i])
	}
	assert.Equal(t, digest.Digest(""), layers.ChainID(nil))
}
