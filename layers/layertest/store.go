package layertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
)

// StoreFactory returns an empty store for one test.
type StoreFactory func(t *testing.T) layers.Store

// StoreSuite runs the conformance tests of the Store contract against
// stores made by factory.
func StoreSuite(t *testing.T, factory StoreFactory) {
	t.Run("IngestAndRead", func(t *testing.T) { storeIngest(t, factory(t)) })
	t.Run("Mismatch", func(t *testing.T) { storeMismatch(t, factory(t)) })
	t.Run("InvalidDigests", func(t *testing.T) { storeInvalid(t, factory(t)) })
	t.Run("DeleteWhileReading", func(t *testing.T) { storeDelete(t, factory(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { storeConcurrent(t, factory(t)) })
	t.Run("Walk", func(t *testing.T) { storeWalk(t, factory(t)) })
}

func descFor(data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(data), Size: int64(len(data))}
}

func readBlob(t *testing.T, s layers.Store, d digest.Digest) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), d)
	require.NoError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	return data
}

func storeIngest(t *testing.T, s layers.Store) {
	ctx := t.Context()
	data := []byte("hello blob")
	got, err := s.Ingest(ctx, bytes.NewReader(data), descFor(data))
	require.NoError(t, err)
	assert.Equal(t, descFor(data), got)
	assert.Equal(t, data, readBlob(t, s, got.Digest))
	info, err := s.Stat(ctx, got.Digest)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), info.Size)

	// Unknown digest: computed.
	other := []byte("no digest given")
	got, err = s.Ingest(ctx, bytes.NewReader(other), ocispec.Descriptor{MediaType: "x"})
	require.NoError(t, err)
	assert.Equal(t, digest.FromBytes(other), got.Digest)
	assert.Equal(t, int64(len(other)), got.Size)

	// Already present: accepted without reading.
	got, err = s.Ingest(ctx, failingReader{}, descFor(data))
	require.NoError(t, err)
	assert.Equal(t, descFor(data).Digest, got.Digest)
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("must not be read") }

func storeMismatch(t *testing.T, s layers.Store) {
	ctx := t.Context()
	data := []byte("the real bytes")
	tests := []struct {
		name string
		want ocispec.Descriptor
	}{
		{"wrong digest", ocispec.Descriptor{Digest: digest.FromString("other"), Size: int64(len(data))}},
		{"short size", ocispec.Descriptor{Digest: digest.FromBytes(data), Size: 3}},
		{"long size", ocispec.Descriptor{Digest: digest.FromBytes(data), Size: 100}},
		{"size only", ocispec.Descriptor{Size: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Ingest(ctx, bytes.NewReader(data), tt.want)
			var mm *layers.DigestMismatchError
			require.ErrorAs(t, err, &mm)
			assert.ErrorIs(t, err, layers.ErrDigestMismatch)
			for _, d := range []digest.Digest{tt.want.Digest, digest.FromBytes(data)} {
				if d == "" {
					continue
				}
				_, err = s.Stat(ctx, d)
				assert.ErrorIs(t, err, fs.ErrNotExist, "nothing is kept")
			}
		})
	}
	n := 0
	require.NoError(t, s.Walk(ctx, func(layers.BlobInfo) error { n++; return nil }))
	assert.Zero(t, n)
}

func storeInvalid(t *testing.T, s layers.Store) {
	ctx := t.Context()
	for _, d := range []digest.Digest{"sha256:xyz", "md5:d41d8cd98f00b204e9800998ecf8427e", "../../etc/passwd", "sha256:../../x"} {
		_, err := s.Open(ctx, d)
		assert.Error(t, err, d)
		_, err = s.Stat(ctx, d)
		assert.Error(t, err, d)
		assert.Error(t, s.Delete(ctx, d), d)
		_, err = s.Ingest(ctx, bytes.NewReader(nil), ocispec.Descriptor{Digest: d})
		assert.Error(t, err, d)
	}
}

func storeDelete(t *testing.T, s layers.Store) {
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789"), 100000)
	desc, err := s.Ingest(ctx, bytes.NewReader(data), descFor(data))
	require.NoError(t, err)
	rc, err := s.Open(ctx, desc.Digest)
	require.NoError(t, err)
	defer rc.Close()
	head := make([]byte, 10)
	_, err = io.ReadFull(rc, head)
	require.NoError(t, err)
	require.NoError(t, s.Delete(ctx, desc.Digest))
	rest, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Equal(t, data, append(head, rest...), "a reader keeps reading a deleted blob")
	_, err = s.Stat(ctx, desc.Digest)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorIs(t, s.Delete(ctx, desc.Digest), fs.ErrNotExist)
	_, err = s.Open(ctx, desc.Digest)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func storeConcurrent(t *testing.T, s layers.Store) {
	data := bytes.Repeat([]byte("concurrent"), 300000)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = s.Ingest(context.Background(), bytes.NewReader(data), descFor(data))
		})
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, data, readBlob(t, s, digest.FromBytes(data)))
	n := 0
	require.NoError(t, s.Walk(t.Context(), func(layers.BlobInfo) error { n++; return nil }))
	assert.Equal(t, 1, n)
}

func storeWalk(t *testing.T, s layers.Store) {
	ctx := t.Context()
	want := map[digest.Digest]int64{}
	for _, b := range []string{"a", "bb", "ccc"} {
		d, err := s.Ingest(ctx, bytes.NewReader([]byte(b)), descFor([]byte(b)))
		require.NoError(t, err)
		want[d.Digest] = d.Size
	}
	got := map[digest.Digest]int64{}
	require.NoError(t, s.Walk(ctx, func(i layers.BlobInfo) error { got[i.Digest] = i.Size; return nil }))
	assert.Equal(t, want, got)
	stop := errors.New("stop")
	assert.ErrorIs(t, s.Walk(ctx, func(layers.BlobInfo) error { return stop }), stop)
}
