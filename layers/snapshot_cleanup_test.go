package layers_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// Opening a second snapshotter on the same root cleans up only what is
// abandoned: it never removes, or races to remove, a snapshot that the
// first one is preparing or removing at the same time.
func TestSnapshotterOpenDuringPrepareAndRemove(t *testing.T) {
	testutil.CheckLeaks(t)
	root := t.TempDir()
	a, err := layers.NewCopy(root)
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	var entries []lt.Entry
	for i := range 200 {
		entries = append(entries, lt.File(fmt.Sprintf("d%d/f%d", i%10, i), "x", 0o644))
	}
	layer := lt.Tar(t, entries...)
	ctx := t.Context()
	require.NoError(t, func() error {
		if _, err := a.Prepare(ctx, "base-work", ""); err != nil {
			return err
		}
		if _, err := a.ApplyLayer(ctx, "base-work", bytes.NewReader(layer), &layers.ApplyOptions{Unprivileged: true}); err != nil {
			return err
		}
		return a.Commit(ctx, "base", "base-work")
	}())

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var openErrs []error
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := layers.NewCopy(root)
			if err != nil {
				openErrs = append(openErrs, err)
				continue
			}
			b.Close()
		}
	})
	for i := range 10 {
		key := fmt.Sprintf("k%d", i)
		_, err := a.Prepare(ctx, key, "base")
		if assert.NoError(t, err, "prepare %s", key) {
			assert.NoError(t, a.Remove(ctx, key), "remove %s", key)
		}
	}
	close(stop)
	wg.Wait()
	for _, err := range openErrs {
		assert.NoError(t, err, "opening a second snapshotter")
	}
	ents, err := os.ReadDir(filepath.Join(root, "snapshots"))
	require.NoError(t, err)
	assert.Len(t, ents, 1, "only the base snapshot's dir is left")
}

// Removing a snapshot whose dir is already gone drops its record.
func TestSnapshotterRemoveMissingDir(t *testing.T) {
	root := t.TempDir()
	s, err := layers.NewCopy(root)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Prepare(t.Context(), "k", "")
	require.NoError(t, err)
	dirs, err := filepath.Glob(filepath.Join(root, "snapshots", "*"))
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	require.NoError(t, os.RemoveAll(dirs[0]))
	require.NoError(t, s.Remove(t.Context(), "k"))
	_, err = s.Stat(t.Context(), "k")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}
