package layers_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// requireTool skips when the tool is missing, naming it, except under CI,
// where the interop tests must run (CI installs skopeo and umoci).
func requireTool(t *testing.T, name string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		if _, err := exec.LookPath(name); err != nil {
			t.Fatalf("interop test needs %s under CI: %v", name, err)
		}
		return
	}
	testutil.RequireFeature(t, "tool:"+name)
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "%s %v: %s", name, args, stderr.String())
	return out
}

func TestInteropSkopeoReadsOurLayout(t *testing.T) {
	testutil.CheckLeaks(t)
	requireTool(t, "skopeo")
	dir := t.TempDir()
	l, err := layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	m := writeTestImage(t, l, "v1")
	var manifest ocispec.Manifest
	require.NoError(t, layers.GetJSON(t.Context(), l, m, &manifest))

	out := run(t, "skopeo", "inspect", "oci:"+dir+":v1")
	var got struct {
		Digest string
		Layers []string
		Os     string
	}
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.Equal(t, m.Digest.String(), got.Digest)
	assert.Equal(t, []string{manifest.Layers[0].Digest.String(), manifest.Layers[1].Digest.String()}, got.Layers)
	assert.Equal(t, "linux", got.Os)

	// skopeo copies it blob by blob, verifying digests, into a new layout.
	dst := t.TempDir()
	run(t, "skopeo", "copy", "oci:"+dir+":v1", "oci:"+dst+":copied")
	desc, err := layers.Layout(dst).Resolve(t.Context(), "copied")
	require.NoError(t, err)
	assert.Equal(t, m.Digest, desc.Digest, "the manifest survives byte for byte")
	var copied ocispec.Manifest
	require.NoError(t, layers.GetJSON(t.Context(), layers.Layout(dst), desc, &copied))
	tree := t.TempDir()
	for _, ld := range copied.Layers {
		rc, err := layers.Layout(dst).Open(t.Context(), ld.Digest)
		require.NoError(t, err)
		_, err = layers.Apply(t.Context(), tree, layers.VerifyReader(rc, ld), unpriv)
		rc.Close()
		require.NoError(t, err)
	}
	data, err := os.ReadFile(filepath.Join(tree, "etc/layer"))
	require.NoError(t, err)
	assert.Equal(t, "b", string(data))
}

func TestInteropUmociUnpacksOurLayout(t *testing.T) {
	testutil.CheckLeaks(t)
	requireTool(t, "umoci")
	dir := t.TempDir()
	l, err := layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	writeImage(t, l, "v1", layers.Gzip, layers.Uncompressed)
	bundle := filepath.Join(t.TempDir(), "bundle")
	args := []string{"unpack", "--image", dir + ":v1", bundle}
	if os.Geteuid() != 0 {
		args = append([]string{"--log", "error"}, append([]string{"unpack", "--rootless"}, args[1:]...)...)
	}
	run(t, "umoci", args...)
	data, err := os.ReadFile(filepath.Join(bundle, "rootfs/etc/layer"))
	require.NoError(t, err)
	assert.Equal(t, "b", string(data), "the second layer wins")
	fi, err := os.Stat(filepath.Join(bundle, "rootfs/bin/hello"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
}

// umoci builds an image with a whiteout; we read its layout, check the
// blobs and apply its layers.
func TestInteropReadUmociLayout(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	requireTool(t, "umoci")
	work := t.TempDir()
	dir := filepath.Join(work, "layout")
	run(t, "umoci", "init", "--layout", dir)
	run(t, "umoci", "new", "--image", dir+":base")
	bundle := filepath.Join(work, "bundle")
	run(t, "umoci", "unpack", "--image", dir+":base", bundle)
	rootfs := filepath.Join(bundle, "rootfs")
	require.NoError(t, os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "etc/one"), []byte("1"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "etc/two"), []byte("2"), 0o600))
	run(t, "umoci", "repack", "--image", dir+":base", bundle)
	// repack diffs against the unpacked manifest: unpack again to stack.
	bundle = filepath.Join(work, "bundle2")
	run(t, "umoci", "unpack", "--image", dir+":base", bundle)
	rootfs = filepath.Join(bundle, "rootfs")
	require.NoError(t, os.Remove(filepath.Join(rootfs, "etc/one")))
	require.NoError(t, os.Symlink("two", filepath.Join(rootfs, "etc/link")))
	run(t, "umoci", "repack", "--image", dir+":base", bundle)

	l := layers.Layout(dir)
	m, err := l.Resolve(t.Context(), "base")
	require.NoError(t, err)
	var manifest ocispec.Manifest
	require.NoError(t, layers.GetJSON(t.Context(), l, m, &manifest))
	var config ocispec.Image
	require.NoError(t, layers.GetJSON(t.Context(), l, manifest.Config, &config))
	require.Len(t, manifest.Layers, 2)

	out := t.TempDir()
	for i, ld := range manifest.Layers {
		rc, err := l.Open(t.Context(), ld.Digest)
		require.NoError(t, err)
		diffID, err := layers.Apply(t.Context(), out, layers.VerifyReader(rc, ld), nil)
		rc.Close()
		require.NoError(t, err)
		assert.Equal(t, config.RootFS.DiffIDs[i], diffID, "our diffID matches umoci's")
	}
	assert.Equal(t, []string{"etc dir 755 0:0", "etc/link symlink 777 0:0 -> two", "etc/two file 600 0:0 size=1 sha=d4735e3a265e"},
		lt.Tree(t, out, lt.TreeOptions{NoTimes: true})[1:])
	n := 0
	require.NoError(t, l.Walk(t.Context(), func(layers.BlobInfo) error { n++; return nil }))
	assert.GreaterOrEqual(t, n, 5, "umoci's blobs are listed")
}
