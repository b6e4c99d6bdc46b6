package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeRaw(t *testing.T, hdrs ...*tar.Header) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "a.tar"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	tw := tar.NewWriter(f)
	for _, h := range hdrs {
		content := h.Linkname
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(h.Uname))
			content, h.Uname = h.Uname, ""
		} else {
			content = ""
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(content))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err)
	return f
}

// reg makes a regular member; its content rides in Uname until written.
func reg(name, content string) *tar.Header {
	return &tar.Header{Typeflag: tar.TypeReg, Name: name, Uname: content, Mode: 0o644}
}

func TestReaderOpensMembersAndFollowsLinks(t *testing.T) {
	f := writeRaw(t,
		&tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755},
		reg("./a.tar", "layer a"),
		reg("/abs/b", "b"),
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "dir/layer.tar", Linkname: "../a.tar"},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "dir/abs", Linkname: "/abs/b"},
		&tar.Header{Typeflag: tar.TypeLink, Name: "hard", Linkname: "dir/layer.tar"},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "loop", Linkname: "loop"},
		&tar.Header{Typeflag: tar.TypeSymlink, Name: "out", Linkname: "../../etc/passwd"},
		reg("dup", "first"), reg("dup", "second"),
	)
	x, err := NewReader(f, f)
	require.NoError(t, err)
	read := func(name string) (string, error) {
		r, err := x.Open(name)
		if err != nil {
			return "", err
		}
		data, err := io.ReadAll(r)
		return string(data), err
	}
	for name, want := range map[string]string{"a.tar": "layer a", "abs/b": "b", "dir/layer.tar": "layer a",
		"dir/abs": "b", "hard": "layer a", "./dir/../a.tar": "layer a", "dup": "second"} {
		got, err := read(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	_, err = read("nothere")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = read("loop")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = read("out")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = read(".")
	assert.ErrorIs(t, err, fs.ErrInvalid, "a directory is not a file")
	assert.True(t, x.Has("dir/layer.tar"))
	assert.False(t, x.Has("dir"))
	data, err := x.ReadFile("a.tar", 7)
	require.NoError(t, err)
	assert.Equal(t, "layer a", string(data))
	_, err = x.ReadFile("a.tar", 6)
	assert.Error(t, err)
}

func TestReaderRejectsClimbingNames(t *testing.T) {
	f := writeRaw(t, reg("../x", "x"))
	_, err := NewReader(f, f)
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

func TestWriterIsDeterministic(t *testing.T) {
	write := func() []byte {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		require.NoError(t, w.Bytes("blobs/sha256/abc", []byte("hello")))
		require.NoError(t, w.Bytes("blobs/sha256/def", []byte("world")))
		require.NoError(t, w.Symlink("x/layer.tar", "../blobs/sha256/abc"))
		require.NoError(t, w.Close())
		return buf.Bytes()
	}
	a, b := write(), write()
	assert.Equal(t, a, b)
	tr := tar.NewReader(bytes.NewReader(a))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		names = append(names, h.Name)
		assert.Equal(t, ModTime, h.ModTime.UTC())
		assert.Zero(t, h.Uid)
		assert.Zero(t, h.Gid)
	}
	assert.Equal(t, []string{"blobs/", "blobs/sha256/", "blobs/sha256/abc", "blobs/sha256/def", "x/", "x/layer.tar"}, names)

	var buf bytes.Buffer
	w := NewWriter(&buf)
	assert.Error(t, w.File("short", 10, bytes.NewReader([]byte("abc"))))
}
