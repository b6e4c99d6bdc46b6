package berth_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/schema"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	lt "github.com/berthlabs/berth/layers/layertest"
)

func validateJSON(t *testing.T, v schema.Validator, what string, data []byte) {
	t.Helper()
	assert.NoError(t, v.Validate(bytes.NewReader(data)), "%s (%s):\n%s", what, v, data)
}

// validateLayout checks the oci-layout, index.json and every manifest,
// index and config reachable from it against the image-spec schemas, and
// returns how many manifests it checked.
func validateLayout(t *testing.T, dir string) int {
	t.Helper()
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return data
	}
	validateJSON(t, schema.ValidatorMediaTypeLayoutHeader, "oci-layout", read("oci-layout"))
	validateJSON(t, schema.ValidatorMediaTypeImageIndex, "index.json", read("index.json"))
	var idx ocispec.Index
	require.NoError(t, json.Unmarshal(read("index.json"), &idx))
	blob := func(d digest.Digest) []byte { return read(filepath.Join("blobs", d.Algorithm().String(), d.Encoded())) }
	n := 0
	seen := map[digest.Digest]bool{}
	for _, e := range idx.Manifests {
		validateJSON(t, schema.ValidatorMediaTypeDescriptor, "index entry", mustJSON(t, e))
		if seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		require.Equal(t, ocispec.MediaTypeImageManifest, e.MediaType)
		mdata := blob(e.Digest)
		validateJSON(t, schema.ValidatorMediaTypeManifest, "manifest "+e.Digest.String(), mdata)
		var m ocispec.Manifest
		require.NoError(t, json.Unmarshal(mdata, &m))
		validateJSON(t, schema.ValidatorMediaTypeImageConfig, "config "+m.Config.Digest.String(), blob(m.Config.Digest))
		n++
	}
	return n
}

func TestEverythingWrittenValidatesAgainstTheImageSpecSchemas(t *testing.T) {
	ctx := t.Context()
	s, a, _ := twoImages(t)
	_, err := s.ImportRootfs(ctx, bytes.NewReader(lt.Tar(t, lt.File("x", "y", 0o644))), &berth.RootfsOptions{
		Names: []string{"rootfs"}, Changes: []string{"CMD [\"/x\"]", "EXPOSE 80", "VOLUME /v", "LABEL a=b"}})
	require.NoError(t, err)
	// A docker-archive round trip writes its own manifest.
	var docker bytes.Buffer
	require.NoError(t, s.Export(ctx, &docker, []string{"app:v1"}, &berth.ExportOptions{Format: berth.DockerArchive}))
	require.NoError(t, s.Untag(ctx, "app:v1"))
	_, err = s.Import(ctx, bytes.NewReader(docker.Bytes()), nil)
	require.NoError(t, err)
	require.NoError(t, s.Tag(ctx, a.ID().String(), "retagged"))
	assert.Equal(t, 4, validateLayout(t, s.Dir()), "the store itself")

	layout := filepath.Join(t.TempDir(), "out")
	require.NoError(t, s.ExportLayout(ctx, layout, []string{"app:v1", "rootfs", "retagged"}))
	assert.Equal(t, 3, validateLayout(t, layout), "an exported layout")

	var oci bytes.Buffer
	require.NoError(t, s.Export(ctx, &oci, []string{"app:v1", "rootfs"}, nil))
	ex := t.TempDir()
	for name, data := range untar(t, oci.Bytes()) {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(ex, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(ex, name), data, 0o644))
	}
	assert.Equal(t, 2, validateLayout(t, ex), "an exported oci-archive")

	// The validators do reject what the spec forbids.
	assert.Error(t, schema.ValidatorMediaTypeManifest.Validate(bytes.NewReader([]byte(`{"schemaVersion":2,"config":{"digest":"sha256:x"}}`))))
	assert.Error(t, schema.ValidatorMediaTypeImageIndex.Validate(bytes.NewReader([]byte(`{"schemaVersion":2,"manifests":[{"size":"1"}]}`))))
}
