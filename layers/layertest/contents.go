package layertest

import (
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
)

// Contents returns a directory showing the tree that ms describe, and a
// function that releases it (unmounts; safe to call more than once, and
// called by t.Cleanup in any case). A single bind mount is used through
// its source directly, with no privilege; anything else is mounted on a
// temporary directory, which needs root (the test is skipped or failed by
// testutil.RequireRoot otherwise).
func Contents(t testing.TB, ms []layers.Mount) (string, func()) {
	t.Helper()
	if len(ms) == 1 && ms[0].Type == "bind" && ms[0].Target == "" {
		return ms[0].Source, func() {}
	}
	testutil.RequireRoot(t)
	target := t.TempDir()
	require.NoError(t, layers.MountAll(ms, target))
	var once sync.Once
	release := func() {
		once.Do(func() { require.NoError(t, layers.UnmountAll(ms, target)) })
	}
	t.Cleanup(release)
	return target, release
}

// TempDir is t.TempDir for trees that may hold read-only directories
// (layers extracted without root keep their 0555 modes): before the
// directory is removed, every directory in it is made writable again, so
// that removal works without root too.
func TempDir(t testing.TB) string {
	dir := t.TempDir()
	t.Cleanup(func() {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return dir
}
