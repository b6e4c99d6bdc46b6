package layers_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/schema"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// writeTestImage stores a two-layer image (gzip and zstd) in l, tags it
// ref, and returns the manifest descriptor.
func writeTestImage(t *testing.T, l layers.Layout, ref string) ocispec.Descriptor {
	t.Helper()
	return writeImage(t, l, ref, layers.Gzip, layers.Zstd)
}

// writeImage stores an image with one layer per compression in l.
func writeImage(t *testing.T, l layers.Layout, ref string, cs ...layers.Compression) ocispec.Descriptor {
	t.Helper()
	ctx := t.Context()
	var descs []ocispec.Descriptor
	var diffIDs []digest.Digest
	for i, c := range cs {
		tarball := lt.Tar(t, lt.Dir("etc"), lt.File("etc/layer", string(rune('a'+i)), 0o644),
			lt.File("bin/hello", "#!/bin/sh\necho hello\n", 0o755))
		d, diffID, err := layers.PutLayer(ctx, l, bytes.NewReader(tarball), c)
		require.NoError(t, err)
		assert.Equal(t, digest.FromBytes(tarball), diffID)
		descs, diffIDs = append(descs, d), append(diffIDs, diffID)
	}
	cfg := ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config:   ocispec.ImageConfig{Cmd: []string{"/bin/hello"}, Env: []string{"PATH=/bin"}},
		RootFS:   ocispec.RootFS{DiffIDs: diffIDs},
	}
	m, err := layers.PutImage(ctx, l, cfg, descs, nil)
	require.NoError(t, err)
	require.NoError(t, l.Tag(ctx, ref, m))
	return m
}

func validate(t *testing.T, v schema.Validator, data []byte) {
	t.Helper()
	assert.NoError(t, v.Validate(bytes.NewReader(data)), "%s:\n%s", v, data)
}

func blob(t *testing.T, l layers.Layout, d digest.Digest) []byte {
	rc, err := l.Open(context.Background(), d)
	require.NoError(t, err)
	defer rc.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	require.NoError(t, err)
	return buf.Bytes()
}

func TestLayoutFilesValidateAgainstImageSpecSchemas(t *testing.T) {
	dir := t.TempDir()
	l, err := layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)

	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return data
	}
	validate(t, schema.ValidatorMediaTypeLayoutHeader, read("oci-layout"))
	validate(t, schema.ValidatorMediaTypeImageIndex, read("index.json"))

	m := writeTestImage(t, l, "v1")
	writeTestImage(t, l, "v2")
	validate(t, schema.ValidatorMediaTypeImageIndex, read("index.json"))
	mdata := blob(t, l, m.Digest)
	validate(t, schema.ValidatorMediaTypeManifest, mdata)
	var manifest ocispec.Manifest
	require.NoError(t, layers.GetJSON(t.Context(), l, m, &manifest))
	validate(t, schema.ValidatorMediaTypeImageConfig, blob(t, l, manifest.Config.Digest))
	for _, d := range manifest.Layers {
		validate(t, schema.ValidatorMediaTypeDescriptor, mustMarshal(t, d))
	}
	idx, err := l.Index(t.Context())
	require.NoError(t, err)
	require.Len(t, idx.Manifests, 2)
	for _, d := range idx.Manifests {
		validate(t, schema.ValidatorMediaTypeDescriptor, mustMarshal(t, d))
	}
}
