package berth_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
)

func TestUnpackIntoOverlayAndMount(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "overlay")
	testutil.CheckLeaks(t)
	ctx := t.Context()
	s := newStore(t)
	img := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "v1")}, "app")
	sn, err := layers.NewOverlay(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = sn.Close() })

	chain, err := img.Unpack(ctx, sn)
	require.NoError(t, err)
	ms, err := sn.Prepare(ctx, "container", chain)
	require.NoError(t, err)
	target := t.TempDir()
	require.NoError(t, layers.MountAll(ms, target))
	t.Cleanup(func() { assert.NoError(t, layers.UnmountAll(ms, target)) })

	data, err := os.ReadFile(filepath.Join(target, "app/main"))
	require.NoError(t, err)
	assert.Equal(t, "v1", string(data))
	_, err = os.Stat(filepath.Join(target, "etc/motd"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the whiteout hides the base layer's file through the overlay")
	fi, err := os.Stat(filepath.Join(target, "bin/sh"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())
}
