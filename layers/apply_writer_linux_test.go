package layers_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// content returns n bytes that differ per seed and position.
func content(seed, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + seed*13 + i>>9)
	}
	return string(b)
}

// Files are written on a second goroutine in chunks; sizes around the
// chunk size and many files in flight must come out byte for byte.
func TestApplyFileSizes(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := lt.TempDir(t)
	sizes := []int{0, 1, 4095, 256<<10 - 1, 256 << 10, 256<<10 + 1, 3<<20 + 17}
	var entries []lt.Entry
	want := map[string]string{}
	for i, n := range sizes {
		name := fmt.Sprintf("big/f%d", i)
		want[name] = content(i, n)
		entries = append(entries, lt.File(name, want[name], 0o640))
	}
	for i := range 300 {
		name := fmt.Sprintf("small/d%d/f%d", i%7, i)
		want[name] = content(i, i*31)
		entries = append(entries, lt.File(name, want[name], 0o644))
	}
	data := lt.Tar(t, entries...)
	_, err := layers.Apply(t.Context(), dir, bytes.NewReader(data), unpriv)
	require.NoError(t, err)
	for name, c := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, c, string(got), name)
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.True(t, fi.ModTime().Equal(lt.Epoch), name)
	}
}

// Later entries replace, link and white out files whose content may
// still be in flight; the result is that of applying them in order.
func TestApplyEntriesOverFilesInFlight(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := lt.TempDir(t)
	big1, big2 := content(1, 1<<20+3), content(2, 600<<10)
	data := lt.Tar(t,
		lt.File("a", big1, 0o644),
		lt.Link("a-link", "a"),
		lt.File("a", "second", 0o600),
		lt.File("b", big2, 0o644),
		lt.Link("b-link", "b"),
		lt.File("c", big1, 0o644),
		lt.Whiteout("c"),
		lt.File("d", big2, 0o644),
		lt.Dir("d"),
		lt.File("d/x", "x", 0o644),
		lt.File("e", big2, 0o644),
		lt.Symlink("e", "a"),
	)
	_, err := layers.Apply(t.Context(), dir, bytes.NewReader(data), unpriv)
	require.NoError(t, err)
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err, name)
		return string(b)
	}
	assert.Equal(t, big1, read("a-link"))
	assert.Equal(t, "second", read("a"))
	assert.Equal(t, big2, read("b"))
	assert.Equal(t, big2, read("b-link"))
	assert.NoFileExists(t, filepath.Join(dir, "c"))
	assert.Equal(t, "x", read("d/x"))
	target, err := os.Readlink(filepath.Join(dir, "e"))
	require.NoError(t, err)
	assert.Equal(t, "a", target)
	fi, err := os.Stat(filepath.Join(dir, "a"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// A failure while finishing a file on the writer goroutine (here: an
// owner that cannot be set as non-root, or an xattr namespace that does
// not exist as root) fails Apply with an error naming that entry, and
// leaves no descriptor open.
func TestApplyWriterFailureNamesEntry(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := lt.TempDir(t)
	entries := []lt.Entry{lt.File("ok", content(1, 300<<10), 0o644)}
	entries = append(entries, lt.File("sub/bad", content(2, 700<<10), 0o644).
		With(func(h *tar.Header) { h.Uid, h.Gid = 12345, 12345 }).Xattr("bogus.key", "v"))
	for i := range 100 {
		entries = append(entries, lt.File(fmt.Sprintf("sub/after%d", i), content(i, 9000), 0o644))
	}
	_, err := layers.Apply(t.Context(), dir, bytes.NewReader(lt.Tar(t, entries...)), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"sub/bad"`)
}

// A stream that ends in the middle of a file's content is an error, also
// when earlier chunks of that file were already handed over.
func TestApplyTruncatedInFile(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := lt.TempDir(t)
	data := lt.Tar(t, lt.File("small", "s", 0o644), lt.File("big", content(3, 2<<20), 0o644))
	cut := data[:len(data)-1024-(1<<20)]
	_, err := layers.Apply(t.Context(), dir, bytes.NewReader(cut), unpriv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "big")
}
