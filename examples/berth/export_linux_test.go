package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteTree(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(outside, []byte("host secret"), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "etc"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "proc/self"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "etc/hosts"), []byte("mounted over"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "proc/self/status"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), []byte("content"), 0o640))
	require.NoError(t, os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "b")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "abs")))
	require.NoError(t, os.Symlink("../../..", filepath.Join(dir, "etc/up")))

	var buf bytes.Buffer
	skip := map[string]bool{"proc": true, "etc/hosts": true}
	require.NoError(t, writeTree(t.Context(), &buf, dir, skip))
	got := map[string]*tar.Header{}
	contents := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		got[h.Name] = h
		data, err := io.ReadAll(tr)
		require.NoError(t, err)
		contents[h.Name] = string(data)
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	assert.ElementsMatch(t, []string{"a", "abs", "b", "etc/", "etc/hosts", "etc/up", "proc/"}, names)
	assert.Equal(t, "content", contents["a"])
	assert.Equal(t, int64(0o640), got["a"].Mode&0o777)
	assert.Equal(t, byte(tar.TypeLink), got["b"].Typeflag, "hard links stay links")
	assert.Equal(t, "a", got["b"].Linkname)
	assert.Equal(t, outside, got["abs"].Linkname, "symbolic links are recorded, not followed")
	assert.Empty(t, contents["abs"])
	assert.Empty(t, contents["etc/hosts"], "a mounted file is exported empty")
	assert.Empty(t, got["a"].Uname, "no host user names")
}

func TestUnescapeMountinfo(t *testing.T) {
	assert.Equal(t, "/a b", unescapeMountinfo(`/a\040b`))
	assert.Equal(t, `/a\b`, unescapeMountinfo(`/a\134b`))
	assert.Equal(t, `/plain`, unescapeMountinfo(`/plain`))
	assert.Equal(t, `/x\04`, unescapeMountinfo(`/x\04`), "a short escape is kept as it is")
}

func TestMountPoints(t *testing.T) {
	f := filepath.Join(t.TempDir(), "mountinfo")
	require.NoError(t, os.WriteFile(f, []byte(
		"1 0 0:1 / / rw - overlay overlay rw\n"+
			"2 1 0:2 / /proc rw - proc proc rw\n"+
			"3 1 0:3 /x /etc/my\\040hosts rw - ext4 /dev/sda rw\n"), 0o644))
	got, err := mountPoints(f)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"proc": true, "etc/my hosts": true}, got)
}
