package layers_test

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

var unpriv = &layers.ApplyOptions{Unprivileged: true}

func TestApplyBasicTree(t *testing.T) {
	dir := lt.TempDir(t)
	data := lt.Tar(t,
		lt.Dir("etc"),
		lt.File("etc/hosts", "127.0.0.1 localhost\n", 0o644),
		lt.File("bin/tool", "#!/bin/sh\n", 0o4755),
		lt.Symlink("bin/sh", "/bin/tool"),
		lt.Link("bin/tool2", "bin/tool"),
		lt.Device("run/pipe", tar.TypeFifo, 0, 0),
		lt.Dir("ro").With(func(h *tar.Header) { h.Mode = 0o555 }),
		lt.File("ro/x", "x", 0o400),
	)
	got, err := layers.Apply(t.Context(), dir, bytes.NewReader(data), unpriv)
	require.NoError(t, err)
	assert.Equal(t, digest.FromBytes(data), got)
	assert.Equal(t, []string{
		". dir 755",
		"bin dir 755",
		"bin/sh symlink 777 -> /bin/tool",
		"bin/tool file 4755 size=10 sha=a8076d3d28d2",
		"bin/tool2 file 4755 size=10 sha=a8076d3d28d2 link=bin/tool",
		"etc dir 755",
		"etc/hosts file 644 size=20 sha=081ef9d53675",
		"ro dir 555",
		"ro/x file 400 size=1 sha=2d711642b726",
		"run dir 755",
		"run/pipe fifo 600",
	}, lt.Tree(t, dir, lt.TreeOptions{NoOwners: true, NoTimes: true}))
	fi, err := os.Stat(filepath.Join(dir, "etc/hosts"))
	require.NoError(t, err)
	assert.True(t, fi.ModTime().Equal(lt.Epoch))
}
