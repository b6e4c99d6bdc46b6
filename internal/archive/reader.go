package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Entry is one member of an indexed archive.
type Entry struct {
	// Name is the cleaned, relative member name.
	Name string
	// Type is the tar type flag (tar.TypeReg, tar.TypeSymlink, ...).
	Type byte
	// Size is the size of a regular member's content.
	Size int64
	// Offset is where a regular member's content starts in the archive.
	Offset int64
	// Linkname is a link member's target as written.
	Linkname string
}

// Reader gives random access to the members of an uncompressed tar
// archive.
type Reader struct {
	ra      io.ReaderAt
	entries map[string]*Entry
}

// maxLinkHops bounds chains of links between members.
const maxLinkHops = 16

// NewReader indexes the archive r by reading its headers and seeking over
// the content. A later member of the same name replaces an earlier one.
// Sparse members are refused (wrapping errors.ErrUnsupported): image
// archives have none.
func NewReader(r io.ReadSeeker, ra io.ReaderAt) (*Reader, error) {
	tr := tar.NewReader(r)
	x := &Reader{ra: ra, entries: map[string]*Entry{}}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return x, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading archive: %w", err)
		}
		name, err := Clean(hdr.Name)
		if err != nil {
			return nil, err
		}
		if isSparse(hdr) {
			return nil, fmt.Errorf("reading archive: member %q is sparse: %w", hdr.Name, errors.ErrUnsupported)
		}
		off, err := r.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, fmt.Errorf("reading archive: %w", err)
		}
		x.entries[name] = &Entry{Name: name, Type: hdr.Typeflag, Size: hdr.Size, Offset: off, Linkname: hdr.Linkname}
	}
}

func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// Clean returns name cleaned and relative to the archive's root ("." for
// the root itself), or an error wrapping fs.ErrInvalid if it is empty or
// climbs out of the archive.
func Clean(name string) (string, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("archive member %q: bad name: %w", name, fs.ErrInvalid)
	}
	rel := path.Clean(strings.TrimLeft(name, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("archive member %q climbs out of the archive: %w", name, fs.ErrInvalid)
	}
	return rel, nil
}

// Has reports whether the archive has a member called name.
func (x *Reader) Has(name string) bool {
	_, err := x.resolve(name)
	return err == nil
}

// Names returns the names of the archive's members, in no order.
func (x *Reader) Names() []string {
	out := make([]string, 0, len(x.entries))
	for n := range x.entries {
		out = append(out, n)
	}
	return out
}

// Open returns a reader of the regular member name, following symbolic
// links (relative to the link's directory) and hard links within the
// archive. It wraps fs.ErrNotExist if there is no such member.
func (x *Reader) Open(name string) (*io.SectionReader, error) {
	e, err := x.resolve(name)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(x.ra, e.Offset, e.Size), nil
}

func (x *Reader) resolve(name string) (*Entry, error) {
	clean, err := Clean(name)
	if err != nil {
		return nil, err
	}
	for range maxLinkHops {
		e, ok := x.entries[clean]
		if !ok {
			return nil, fmt.Errorf("archive member %q: %w", name, fs.ErrNotExist)
		}
		switch e.Type {
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives use TypeRegA
			return e, nil
		case tar.TypeSymlink:
			target := e.Linkname
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(e.Name), target)
			}
			if clean, err = Clean(target); err != nil {
				return nil, fmt.Errorf("archive member %q: link %w", name, err)
			}
		case tar.TypeLink:
			if clean, err = Clean(e.Linkname); err != nil {
				return nil, fmt.Errorf("archive member %q: link %w", name, err)
			}
		default:
			return nil, fmt.Errorf("archive member %q is not a file (type %q): %w", name, e.Type, fs.ErrInvalid)
		}
	}
	return nil, fmt.Errorf("archive member %q: more than %d links: %w", name, maxLinkHops, fs.ErrInvalid)
}

// ReadFile returns the content of member name, refusing members larger
// than limit bytes.
func (x *Reader) ReadFile(name string, limit int64) ([]byte, error) {
	r, err := x.Open(name)
	if err != nil {
		return nil, err
	}
	if r.Size() > limit {
		return nil, fmt.Errorf("archive member %q: %d bytes exceed %d", name, r.Size(), limit)
	}
	data := make([]byte, r.Size())
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("reading archive member %q: %w", name, err)
	}
	return data, nil
}
