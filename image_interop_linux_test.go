package berth_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/opencontainers/image-spec/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

func runTool(t *testing.T, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %v: %s", name, args, stderr.String())
	return out
}

type skopeoInspect struct {
	Digest string
	Layers []string
	Os     string
	Env    []string
	Labels map[string]string
}

func inspectWithSkopeo(t *testing.T, ref string) skopeoInspect {
	t.Helper()
	out := runTool(t, nil, "skopeo", "inspect", ref)
	var got skopeoInspect
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	return got
}

func layerDigests(img *berth.Image) []string {
	var out []string
	for _, l := range img.Layers() {
		out = append(out, l.Digest.String())
	}
	return out
}

func TestInteropSkopeoReadsOurExports(t *testing.T) {
	testutil.RequireFeature(t, "tool:skopeo")
	s, a, _ := twoImages(t)
	ctx := t.Context()

	dir := filepath.Join(t.TempDir(), "layout")
	require.NoError(t, s.ExportLayout(ctx, dir, []string{"app:v1"}))
	archive := filepath.Join(t.TempDir(), "app.tar")
	f, err := os.Create(archive)
	require.NoError(t, err)
	require.NoError(t, s.Export(ctx, f, []string{"app:v1"}, nil))
	require.NoError(t, f.Close())

	for _, ref := range []string{
		"oci:" + dir + ":docker.io/library/app:v1",
		"oci-archive:" + archive + ":docker.io/library/app:v1",
		"oci:" + s.Dir() + ":docker.io/library/app:v1", // the store is itself a layout
	} {
		got := inspectWithSkopeo(t, ref)
		assert.Equal(t, a.Digest().String(), got.Digest, ref)
		assert.Equal(t, layerDigests(a), got.Layers, ref)
		assert.Equal(t, "linux", got.Os, ref)
		assert.Equal(t, map[string]string{"a": "b"}, got.Labels, ref)
	}

	docker := filepath.Join(t.TempDir(), "docker.tar")
	f, err = os.Create(docker)
	require.NoError(t, err)
	require.NoError(t, s.Export(ctx, f, []string{"app:v1"}, &berth.ExportOptions{Format: berth.DockerArchive}))
	require.NoError(t, f.Close())
	got := inspectWithSkopeo(t, "docker-archive:"+docker)
	var diffIDs []string
	for _, d := range a.DiffIDs() {
		diffIDs = append(diffIDs, d.String())
	}
	assert.Equal(t, diffIDs, got.Layers, "a docker-archive holds the uncompressed layers")
	assert.Equal(t, []string{"PATH=/bin"}, got.Env)

	// skopeo copies our archive, verifying every blob.
	back := t.TempDir()
	runTool(t, nil, "skopeo", "copy", "docker-archive:"+docker, "oci:"+back+":copied")
	assert.Equal(t, 1, validateLayout(t, back))
}

func TestInteropArchivesWrittenBySkopeoLoadHere(t *testing.T) {
	testutil.RequireFeature(t, "tool:skopeo")
	s, a, _ := twoImages(t)
	ctx := t.Context()
	src := t.TempDir()
	require.NoError(t, s.ExportLayout(ctx, src, []string{"app:v1"}))
	tmp := t.TempDir()
	docker := filepath.Join(tmp, "docker.tar")
	oci := filepath.Join(tmp, "oci.tar")
	runTool(t, nil, "skopeo", "copy", "oci:"+src+":docker.io/library/app:v1", "docker-archive:"+docker+":example.com/team/app:v2")
	runTool(t, nil, "skopeo", "copy", "oci:"+src+":docker.io/library/app:v1", "oci-archive:"+oci+":localhost/app:v3")

	for _, tt := range []struct {
		path, name string
		sameDigest bool
	}{
		{docker, "example.com/team/app:v2", false},
		{oci, "localhost/app:v3", true},
	} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			dst := newStore(t)
			f, err := os.Open(tt.path)
			require.NoError(t, err)
			defer f.Close()
			infos, err := dst.Import(ctx, f, nil)
			require.NoError(t, err)
			require.Len(t, infos, 1)
			img := infos[0].Image
			assert.Equal(t, []string{tt.name}, infos[0].Names)
			assert.Equal(t, a.ID(), img.ID(), "skopeo keeps the config bytes")
			assert.Equal(t, a.DiffIDs(), img.DiffIDs())
			if tt.sameDigest {
				assert.Equal(t, a.Digest(), img.Digest())
			}
			sn := newCopy(t)
			chain, err := img.Unpack(ctx, sn)
			require.NoError(t, err)
			got, err := snapshotFile(t, sn, chain, "app/main")
			require.NoError(t, err)
			assert.Equal(t, "v1", got)
			cfg, err := dst.Open(ctx, img.ID())
			require.NoError(t, err)
			data := new(bytes.Buffer)
			_, err = data.ReadFrom(cfg)
			require.NoError(t, err)
			cfg.Close()
			validateJSON(t, schema.ValidatorMediaTypeImageConfig, "imported config", data.Bytes())
			validateLayout(t, dst.Dir())
		})
	}
}

func commandOutput(env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}
