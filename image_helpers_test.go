package berth_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// testCreated is the creation time of test images, fixed so that their
// digests are reproducible.
var testCreated = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newStore(t *testing.T, opts ...berth.ImageStoreOption) *berth.ImageStore {
	t.Helper()
	s, err := berth.OpenImageStore(t.Context(), t.TempDir(), opts...)
	require.NoError(t, err)
	return s
}

// testConfig is a config for an image over the layers with diffIDs.
func testConfig(diffIDs []digest.Digest, created time.Time) ocispec.Image {
	return ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Config: ocispec.ImageConfig{
			Env: []string{"PATH=/bin"},
			Cmd: []string{"/bin/sh"},
		},
		RootFS: ocispec.RootFS{Type: "layers", DiffIDs: diffIDs},
	}
}

// writeImage stores an image with one gzip layer per tarball and names it
// with names; the config is changed by mutate if not nil.
func writeImage(t *testing.T, s *berth.ImageStore, mutate func(*ocispec.Image), tarballs [][]byte, names ...string) *berth.Image {
	t.Helper()
	ctx := t.Context()
	w, err := s.NewWriter(ctx)
	require.NoError(t, err)
	defer func() { require.NoError(t, w.Close()) }()
	var descs []ocispec.Descriptor
	var diffIDs []digest.Digest
	for _, tb := range tarballs {
		d, diffID, err := w.WriteLayer(ctx, bytes.NewReader(tb), layers.Gzip)
		require.NoError(t, err)
		descs, diffIDs = append(descs, d), append(diffIDs, diffID)
	}
	cfg := testConfig(diffIDs, testCreated)
	if mutate != nil {
		mutate(&cfg)
	}
	img, err := w.WriteImage(ctx, cfg, descs, nil)
	require.NoError(t, err)
	for _, n := range names {
		require.NoError(t, s.Tag(ctx, img.Digest().String(), n))
	}
	return img
}

// baseLayer and appLayer are two layers, the second deleting a file of
// the first.
func baseLayer(t testing.TB) []byte {
	return lt.Tar(t, lt.Dir("bin"), lt.File("bin/sh", "#!/bin/sh\n", 0o755), lt.Dir("etc"),
		lt.File("etc/os-release", "ID=test\n", 0o644), lt.File("etc/motd", "hello\n", 0o644))
}

func appLayer(t testing.TB, content string) []byte {
	return lt.Tar(t, lt.Dir("app"), lt.File("app/main", content, 0o755), lt.Dir("etc"), lt.Whiteout("etc/motd"))
}

// uniqueLayer is a one-file layer whose content depends on i.
func uniqueLayer(t testing.TB, i int) []byte {
	return lt.Tar(t, lt.File(fmt.Sprintf("file%d", i), fmt.Sprintf("content %d\n", i), 0o644))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return data
}
