package layers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
)

func mustMarshal(t *testing.T, v any) []byte {
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}

func TestLayoutTagResolve(t *testing.T) {
	l, err := layers.NewLayout(t.Context(), t.TempDir())
	require.NoError(t, err)
	m1 := writeTestImage(t, l, "latest")
	got, err := l.Resolve(t.Context(), "latest")
	require.NoError(t, err)
	assert.Equal(t, m1.Digest, got.Digest)
	assert.Equal(t, "latest", got.Annotations[ocispec.AnnotationRefName])
	_, err = l.Resolve(t.Context(), "nope")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	// Retagging replaces the entry.
	d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("x"), Size: 1}
	require.NoError(t, l.Tag(t.Context(), "latest", d))
	idx, err := l.Index(t.Context())
	require.NoError(t, err)
	require.Len(t, idx.Manifests, 1)
	assert.Equal(t, d.Digest, idx.Manifests[0].Digest)
	assert.Error(t, l.Tag(t.Context(), "", d))
}

func TestLayoutConcurrentTags(t *testing.T) {
	dir := t.TempDir()
	_, err := layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			d := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString(fmt.Sprint(i)), Size: 1}
			assert.NoError(t, layers.Layout(dir).Tag(t.Context(), fmt.Sprintf("t%d", i), d))
		})
	}
	wg.Wait()
	idx, err := layers.Layout(dir).Index(t.Context())
	require.NoError(t, err)
	assert.Len(t, idx.Manifests, 20, "no update was lost")
}

func TestNewLayoutRejectsOtherVersions(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"2.0.0"}`), 0o644))
	_, err := layers.NewLayout(t.Context(), dir)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestVerifyReader(t *testing.T) {
	data := []byte("verified")
	desc := ocispec.Descriptor{Digest: digest.FromBytes(data), Size: int64(len(data))}
	got, err := io.ReadAll(layers.VerifyReader(bytes.NewReader(data), desc))
	require.NoError(t, err)
	assert.Equal(t, data, got)
	_, err = io.ReadAll(layers.VerifyReader(bytes.NewReader([]byte("tampered")), desc))
	assert.ErrorIs(t, err, layers.ErrDigestMismatch)
	_, err = io.ReadAll(layers.VerifyReader(bytes.NewReader(data), ocispec.Descriptor{Digest: "bad"}))
	assert.Error(t, err)
}

func TestGetJSONChecksDigest(t *testing.T) {
	l, err := layers.NewLayout(t.Context(), t.TempDir())
	require.NoError(t, err)
	desc, err := layers.PutJSON(t.Context(), l, "application/json", map[string]int{"a": 1})
	require.NoError(t, err)
	var v map[string]int
	require.NoError(t, layers.GetJSON(t.Context(), l, desc, &v))
	assert.Equal(t, 1, v["a"])
	desc.Size++
	assert.ErrorIs(t, layers.GetJSON(t.Context(), l, desc, &v), layers.ErrDigestMismatch)
}
