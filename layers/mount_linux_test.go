package layers_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
)

func TestMountAllBindReadOnly(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	src, target := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	ms := []layers.Mount{{Type: "bind", Source: src, Options: []string{"rbind", "ro", "nosuid"}}}
	require.NoError(t, layers.MountAll(ms, target))
	t.Cleanup(func() { assert.NoError(t, layers.UnmountAll(ms, target)) })
	data, err := os.ReadFile(filepath.Join(target, "f"))
	require.NoError(t, err)
	assert.Equal(t, "x", string(data))
	err = os.WriteFile(filepath.Join(target, "g"), []byte("y"), 0o644)
	assert.True(t, errors.Is(err, unix.EROFS), "read-only bind: %v", err)
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(target, &st))
	assert.NotZero(t, st.Flags&unix.ST_NOSUID)
}

func TestMountAllUndoesOnFailure(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	src, target := t.TempDir(), t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(src, "sub"), 0o755))
	ms := []layers.Mount{
		{Type: "bind", Source: src, Options: []string{"rbind", "rw"}},
		{Type: "bind", Source: filepath.Join(src, "missing"), Target: "sub", Options: []string{"rbind"}},
	}
	err := layers.MountAll(ms, target)
	require.Error(t, err)
	assert.ErrorIs(t, err, unix.ENOENT)
	var pe *os.PathError
	assert.ErrorAs(t, err, &pe)
	// The first mount was undone: target is empty again.
	ents, err := os.ReadDir(target)
	require.NoError(t, err)
	assert.Empty(t, ents)
}

func TestUnmountNotMounted(t *testing.T) {
	testutil.RequireRoot(t)
	assert.NoError(t, layers.Unmount(t.TempDir()))
}
