package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"time"
)

// ModTime is the modification time of every member a Writer writes: the
// Unix epoch, as skopeo and docker write image archives.
var ModTime = time.Unix(0, 0).UTC()

// Writer writes an archive with fixed member metadata.
type Writer struct {
	tw   *tar.Writer
	dirs map[string]bool
}

// NewWriter returns a Writer to w. Close it to finish the archive.
func NewWriter(w io.Writer) *Writer {
	return &Writer{tw: tar.NewWriter(w), dirs: map[string]bool{}}
}

// parents writes the directories above name that are not written yet.
func (w *Writer) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." || w.dirs[dir] {
		return nil
	}
	if err := w.parents(dir); err != nil {
		return err
	}
	w.dirs[dir] = true
	return w.header(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755})
}

func (w *Writer) header(h *tar.Header) error {
	h.ModTime = ModTime
	h.Format = tar.FormatPAX
	if len(h.Name) < 100 && len(h.Linkname) < 100 {
		h.Format = tar.FormatUSTAR
	}
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing archive member %q: %w", h.Name, err)
	}
	return nil
}

// File writes the regular member name (mode 0444) with size bytes read
// from r; r must hold exactly that many.
func (w *Writer) File(name string, size int64, r io.Reader) error {
	if err := w.parents(name); err != nil {
		return err
	}
	if err := w.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o444}); err != nil {
		return err
	}
	n, err := io.Copy(w.tw, r)
	if err != nil {
		return fmt.Errorf("writing archive member %q: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("writing archive member %q: %d bytes, want %d: %w", name, n, size, io.ErrUnexpectedEOF)
	}
	return nil
}

// Bytes writes the regular member name holding data.
func (w *Writer) Bytes(name string, data []byte) error {
	return w.File(name, int64(len(data)), bytes.NewReader(data))
}

// Symlink writes a symbolic link member name pointing at target.
func (w *Writer) Symlink(name, target string) error {
	if err := w.parents(name); err != nil {
		return err
	}
	return w.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
}

// Close writes the end of the archive. It does not close the underlying
// writer.
func (w *Writer) Close() error {
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("finishing archive: %w", err)
	}
	return nil
}
