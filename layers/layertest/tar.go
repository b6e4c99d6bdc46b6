package layertest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"testing"
	"time"
)

// Entry is one tar entry for [Tar]: a header and, for regular files, the
// content. The constructors below fill in the usual fields.
type Entry struct {
	Header  tar.Header
	Content []byte
}

// Epoch is the modification time the constructors give entries.
var Epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// File is a regular file with content and mode (permission bits, may
// include setuid), owned by root.
func File(name, content string, mode int64) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(content)), ModTime: Epoch}, Content: []byte(content)}
}

// Dir is a directory with mode 0755.
func Dir(name string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: Epoch}}
}

// Symlink is a symlink name -> target.
func Symlink(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: Epoch}}
}

// Link is a hardlink name to the earlier entry target.
func Link(name, target string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, Mode: 0o644, ModTime: Epoch}}
}

// Whiteout deletes name (".wh." is prefixed to its base name).
func Whiteout(name string) Entry {
	dir, base := "", name
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			dir, base = name[:i+1], name[i+1:]
			break
		}
	}
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: dir + ".wh." + base, Mode: 0o644, ModTime: Epoch}}
}

// Opaque marks directory dir opaque (".wh..wh..opq" inside it).
func Opaque(dir string) Entry {
	return Entry{Header: tar.Header{Typeflag: tar.TypeReg, Name: dir + "/.wh..wh..opq", Mode: 0o644, ModTime: Epoch}}
}

// Device is a character (typ tar.TypeChar), block (tar.TypeBlock) device
// or fifo (tar.TypeFifo).
func Device(name string, typ byte, major, minor int64) Entry {
	return Entry{Header: tar.Header{Typeflag: typ, Name: name, Mode: 0o600, Devmajor: major, Devminor: minor, ModTime: Epoch}}
}

// With returns e after fn has changed its header.
func (e Entry) With(fn func(*tar.Header)) Entry {
	fn(&e.Header)
	return e
}

// Xattr returns e with the extended attribute key=value.
func (e Entry) Xattr(key, value string) Entry {
	return e.With(func(h *tar.Header) {
		if h.PAXRecords == nil {
			h.PAXRecords = map[string]string{}
		}
		h.PAXRecords["SCHILY.xattr."+key] = value
	})
}

// Owner returns e owned by uid:gid.
func (e Entry) Owner(uid, gid int) Entry {
	return e.With(func(h *tar.Header) { h.Uid, h.Gid = uid, gid })
}

// Tar writes entries as a tar stream and returns it, failing t if an
// entry cannot be encoded.
func Tar(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	data, err := buildTar(entries)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// MustTar is [Tar] for examples and benchmarks setup: it panics if an
// entry cannot be encoded.
func MustTar(entries ...Entry) []byte {
	data, err := buildTar(entries)
	if err != nil {
		panic(err)
	}
	return data
}

func buildTar(entries []Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Content))
		}
		if h.PAXRecords != nil {
			h.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("writing tar header %q: %w", h.Name, err)
		}
		if _, err := tw.Write(e.Content); err != nil {
			return nil, fmt.Errorf("writing tar content %q: %w", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing tar: %w", err)
	}
	return buf.Bytes(), nil
}
