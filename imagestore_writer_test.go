package berth_test

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
)

// TestWriteRawImage checks that a raw config is stored byte for byte,
// Docker's extra fields included, and that the image is registered.
func TestWriteRawImage(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	w, err := s.NewWriter(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	desc, diffID, err := w.WriteLayer(ctx, bytes.NewReader(baseLayer(t)), layers.Uncompressed)
	require.NoError(t, err)
	raw := []byte(`{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"],` +
		`"Healthcheck":{"Test":["CMD","true"],"Interval":1000000000},"Shell":["/bin/bash","-c"],"OnBuild":["RUN true"]},` +
		`"rootfs":{"type":"layers","diff_ids":["` + diffID.String() + `"]}}`)
	img, err := w.WriteRawImage(ctx, raw, []ocispec.Descriptor{desc}, map[string]string{"a": "b"})
	require.NoError(t, err)
	assert.Equal(t, digest.FromBytes(raw), img.ID(), "the config is stored as given")
	assert.Equal(t, []string{"/bin/sh"}, img.Config().Config.Cmd)
	assert.Equal(t, "b", img.Manifest().Annotations["a"])

	rc, err := s.Open(ctx, img.ID())
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	var docker struct {
		Config struct {
			Healthcheck struct{ Test []string }
			Shell       []string
			OnBuild     []string
		} `json:"config"`
	}
	require.NoError(t, json.Unmarshal(got, &docker))
	assert.Equal(t, []string{"CMD", "true"}, docker.Config.Healthcheck.Test)
	assert.Equal(t, []string{"/bin/bash", "-c"}, docker.Config.Shell)
	assert.Equal(t, []string{"RUN true"}, docker.Config.OnBuild)

	list, err := s.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "registered without a name")
	assert.Equal(t, img.Digest(), list[0].Image.Digest())
	assert.Equal(t, "linux", list[0].Image.Descriptor().Platform.OS, "the index entry has the config's platform")
	again, err := w.WriteRawImage(ctx, raw, []ocispec.Descriptor{desc}, map[string]string{"a": "b"})
	require.NoError(t, err)
	assert.Equal(t, img.Digest(), again.Digest())
	list, err = s.List(ctx)
	require.NoError(t, err)
	assert.Len(t, list, 1, "writing the same image twice registers it once")
}

func TestWriteRawImageErrors(t *testing.T) {
	s := newStore(t)
	w, err := s.NewWriter(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	desc, diffID, err := w.WriteLayer(t.Context(), bytes.NewReader(baseLayer(t)), layers.Uncompressed)
	require.NoError(t, err)
	missing := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayer, Digest: digest.FromString("nothing"), Size: 7}
	rootfs := func(ids ...digest.Digest) string {
		b, _ := json.Marshal(ocispec.RootFS{Type: "layers", DiffIDs: ids})
		return `{"os":"linux","rootfs":` + string(b) + `}`
	}
	tests := []struct {
		name   string
		config string
		layers []ocispec.Descriptor
		want   error
	}{
		{"not JSON", `{`, nil, fs.ErrInvalid},
		{"wrong rootfs type", `{"rootfs":{"type":"tar"}}`, nil, fs.ErrInvalid},
		{"diffIDs do not match the layers", rootfs(), []ocispec.Descriptor{desc}, fs.ErrInvalid},
		{"bad diffID", `{"rootfs":{"type":"layers","diff_ids":["sha256:xyz"]}}`, []ocispec.Descriptor{desc}, fs.ErrInvalid},
		{"layer not in the store", rootfs(diffID), []ocispec.Descriptor{missing}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := w.WriteRawImage(t.Context(), []byte(tt.config), tt.layers, nil)
			require.ErrorIs(t, err, tt.want)
		})
	}
	list, err := s.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, list, "nothing registered")
	require.NoError(t, w.Close())
	_, err = w.WriteRawImage(t.Context(), []byte(rootfs()), nil, nil)
	assert.Error(t, err, "a closed writer writes nothing")
}
