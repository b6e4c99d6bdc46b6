package layers_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// tarNames lists the entry names of a tar stream in order.
func tarNames(t *testing.T, data []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return names
		}
		require.NoError(t, err)
		names = append(names, hdr.Name)
	}
}

func sampleLayer(t *testing.T, privileged bool) []byte {
	entries := []lt.Entry{
		lt.Dir("etc"),
		lt.File("etc/hosts", "127.0.0.1 localhost\n", 0o644).Xattr("user.note", "hello"),
		lt.File("bin/tool", "#!/bin/sh\necho tool\n", 0o4755),
		lt.Symlink("bin/sh", "/bin/tool"),
		lt.Link("bin/tool2", "bin/tool"),
		lt.Device("run/pipe", tar.TypeFifo, 0, 0),
		lt.Dir("ro").With(func(h *tar.Header) { h.Mode = 0o555 }),
		lt.File("ro/x", "x", 0o400),
		lt.File("empty", "", 0o600),
	}
	if privileged {
		entries = append(entries,
			lt.File("home/user/.profile", "PS1=$\n", 0o640).Owner(1000, 1000),
			lt.Dir("home/user").Owner(1000, 1000).With(func(h *tar.Header) { h.Mode = 0o2750 }),
			lt.Device("dev/null", tar.TypeChar, 1, 3),
			lt.Device("dev/loop0", tar.TypeBlock, 7, 0).Owner(0, 6),
			lt.File("usr/bin/ping", "ping", 0o755).Xattr("security.capability", "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
			lt.File("secret", "s", 0o600).Xattr("trusted.berth", "t"),
		)
	}
	return lt.Tar(t, entries...)
}

func TestDiffRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		privileged bool
	}{
		{"unprivileged", false},
		{"privileged", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.privileged {
				testutil.RequireRoot(t)
			}
			opts := &layers.ApplyOptions{Unprivileged: !tt.privileged}
			a, b := lt.TempDir(t), lt.TempDir(t)
			_, err := layers.Apply(t.Context(), a, bytes.NewReader(sampleLayer(t, tt.privileged)), opts)
			require.NoError(t, err)
			var out bytes.Buffer
			diffID, err := layers.Diff(t.Context(), "", a, &out, nil)
			require.NoError(t, err)
			got, err := layers.Apply(t.Context(), b, bytes.NewReader(out.Bytes()), opts)
			require.NoError(t, err)
			assert.Equal(t, diffID, got)
			topts := lt.TreeOptions{NoOwners: !tt.privileged, NoRootMeta: true}
			assert.Equal(t, lt.Tree(t, a, topts), lt.Tree(t, b, topts))

			var again bytes.Buffer
			diffID2, err := layers.Diff(t.Context(), "", b, &again, nil)
			require.NoError(t, err)
			assert.Equal(t, diffID, diffID2, "the same tree gives the same layer")
		})
	}
}

func TestDiffChanges(t *testing.T) {
	lower, upper := lt.TempDir(t), lt.TempDir(t)
	base := lt.Tar(t,
		lt.File("a/keep", "k", 0o644),
		lt.File("a/mod", "old", 0o644),
		lt.File("a/gone", "g", 0o644),
		lt.File("b/deep/file", "d", 0o644),
		lt.File("c", "c", 0o644),
	)
	for _, d := range []string{lower, upper} {
		_, err := layers.Apply(t.Context(), d, bytes.NewReader(base), unpriv)
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(upper, "a/mod"), []byte("new!"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(upper, "a/gone")))
	require.NoError(t, os.RemoveAll(filepath.Join(upper, "b")))
	require.NoError(t, os.WriteFile(filepath.Join(upper, "new"), []byte("n"), 0o644))
	require.NoError(t, os.Chmod(filepath.Join(upper, "c"), 0o600))

	var out bytes.Buffer
	_, err := layers.Diff(t.Context(), lower, upper, &out, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{".wh.b", "a/", "a/.wh.gone", "a/mod", "c", "new"}, sortedByTar(tarNames(t, out.Bytes())))

	// Applying the diff onto a copy of lower reproduces upper.
	check := lt.TempDir(t)
	_, err = layers.Apply(t.Context(), check, bytes.NewReader(base), unpriv)
	require.NoError(t, err)
	_, err = layers.Apply(t.Context(), check, bytes.NewReader(out.Bytes()), unpriv)
	require.NoError(t, err)
	topts := lt.TreeOptions{NoOwners: true, NoTimes: true}
	assert.Equal(t, lt.Tree(t, upper, topts), lt.Tree(t, check, topts))
}

// sortedByTar returns names as Diff orders them (it is the identity; kept
// to state the expectation).
func sortedByTar(names []string) []string { return names }

func TestDiffSourceDateEpoch(t *testing.T) {
	dir := lt.TempDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	epoch := time.Unix(1700000000, 0)
	var one, two bytes.Buffer
	d1, err := layers.Diff(t.Context(), "", dir, &one, &layers.DiffOptions{SourceDateEpoch: &epoch})
	require.NoError(t, err)
	now := time.Now()
	require.NoError(t, os.Chtimes(filepath.Join(dir, "f"), now, now.Add(time.Hour)))
	d2, err := layers.Diff(t.Context(), "", dir, &two, &layers.DiffOptions{SourceDateEpoch: &epoch})
	require.NoError(t, err)
	assert.Equal(t, d1, d2, "timestamps after the epoch are clamped")
	hdr, err := tar.NewReader(&two).Next()
	require.NoError(t, err)
	assert.True(t, hdr.ModTime.Equal(epoch))
}

func TestDiffSkipDigest(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	var a, b bytes.Buffer
	d, err := layers.Diff(t.Context(), "", dir, &a, nil)
	require.NoError(t, err)
	none, err := layers.Diff(t.Context(), "", dir, &b, &layers.DiffOptions{SkipDigest: true})
	require.NoError(t, err)
	assert.Empty(t, none)
	assert.Equal(t, a.Bytes(), b.Bytes())
	l, err := layers.NewLayout(t.Context(), t.TempDir())
	require.NoError(t, err)
	_, diffID, err := layers.PutLayer(t.Context(), l, bytes.NewReader(a.Bytes()), layers.Gzip)
	require.NoError(t, err)
	assert.Equal(t, d, diffID, "PutLayer computes the diffID Diff skipped")
}
