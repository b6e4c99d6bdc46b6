package layers_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
)

// Another opener's cleanup that runs in the moment between a writer
// creating its temporary index.json and locking it removes that file (it
// cannot tell it from a dead writer's); the writer notices and makes
// another, and its update is not lost.
func TestLayoutCleanupBeforeTempLocked(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	l, err := layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	hooked := 0
	var removed bool
	*layers.TestHookTempCreated = func(p string) {
		hooked++
		if hooked > 1 {
			return
		}
		_, err := layers.NewLayout(t.Context(), dir) // the other opener
		assert.NoError(t, err)
		_, err = os.Lstat(p)
		removed = errors.Is(err, fs.ErrNotExist)
	}
	t.Cleanup(func() { *layers.TestHookTempCreated = nil })

	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("m"), Size: 1}
	require.NoError(t, l.Tag(t.Context(), "v1", desc))
	assert.True(t, removed, "the cleanup removed the unlocked temporary file")
	assert.Equal(t, 2, hooked, "the writer made a second temporary file")
	got, err := l.Resolve(t.Context(), "v1")
	require.NoError(t, err)
	assert.Equal(t, desc.Digest, got.Digest)
	temps, err := filepath.Glob(filepath.Join(dir, ".berth-tmp-*"))
	require.NoError(t, err)
	assert.Empty(t, temps)
}

// A temporary file whose writer holds its lock survives another opener's
// cleanup; once the writer is gone, the next cleanup removes it.
func TestLayoutCleanupSparesLockedTemp(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	_, err := layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	var temp string
	*layers.TestHookTempCreated = func(p string) { temp = p }
	t.Cleanup(func() { *layers.TestHookTempCreated = nil })
	l := layers.Layout(dir)
	err = l.UpdateIndex(t.Context(), func(*ocispec.Index) error {
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, temp)
	assert.NoFileExists(t, temp, "renamed into place")

	// A writer that is alive: the lock is held by an open file.
	p := filepath.Join(dir, ".berth-tmp-index.json-alive")
	f, err := os.Create(p)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	require.NoError(t, unix.Flock(int(f.Fd()), unix.LOCK_EX))
	_, err = layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	assert.FileExists(t, p)
	require.NoError(t, f.Close())
	_, err = layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	assert.NoFileExists(t, p)
}
