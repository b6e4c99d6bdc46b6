package berth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/internal/archive"
	"github.com/berthlabs/berth/layers"
)

// imageSource is where an import reads from: an OCI layout directory or
// an indexed archive. Names are slash-separated and relative.
type imageSource interface {
	open(name string) (io.ReadCloser, int64, error)
	has(name string) bool
}

// dirSource reads a directory, confined to it by os.Root.
type dirSource struct{ root *os.Root }

func (d dirSource) open(name string) (io.ReadCloser, int64, error) {
	f, err := d.root.Open(name)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, errors.Join(err, f.Close())
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, errors.Join(fmt.Errorf("%s is not a regular file: %w", name, fs.ErrInvalid), f.Close())
	}
	return f, fi.Size(), nil
}

func (d dirSource) has(name string) bool {
	fi, err := d.root.Stat(name)
	return err == nil && fi.Mode().IsRegular()
}

// tarSource reads the members of an indexed archive.
type tarSource struct{ x *archive.Reader }

func (t tarSource) open(name string) (io.ReadCloser, int64, error) {
	r, err := t.x.Open(name)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(r), r.Size(), nil
}

func (t tarSource) has(name string) bool { return t.x.Has(name) }

// readSource reads member name into memory, refusing more than limit
// bytes.
func readSource(src imageSource, name string, limit int64) ([]byte, error) {
	rc, size, err := src.open(name)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	defer rc.Close()
	if size > limit {
		return nil, fmt.Errorf("reading %s: %d bytes exceed %d: %w", name, size, limit, layers.ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}

// sourceProvider is the blob store of an OCI layout in a source.
type sourceProvider struct{ src imageSource }

// Open implements layers.Provider.
func (p sourceProvider) Open(_ context.Context, d digest.Digest) (io.ReadCloser, error) {
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("opening blob %q: %w", d, err)
	}
	rc, _, err := p.src.open(path.Join("blobs", d.Algorithm().String(), d.Encoded()))
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", d, err)
	}
	return rc, nil
}

// openArchive indexes the archive read from r. A regular file (or any
// io.ReadSeeker that is also an io.ReaderAt) holding an uncompressed tar
// is read in place; anything else (a pipe, a gzip- or zstd-compressed
// archive) is first copied, decompressed, to a temporary file in tmpDir.
// The returned function removes that file.
func openArchive(ctx context.Context, r io.Reader, tmpDir string) (*archive.Reader, func() error, error) {
	noop := func() error { return nil }
	if sec, ok := seekableArchive(r); ok {
		x, err := archive.NewReader(sec, sec)
		return x, noop, err
	}
	tmp, err := anonymousTemp(tmpDir, ".berth-import-")
	if err != nil {
		return nil, noop, fmt.Errorf("spooling archive: %w", err)
	}
	cleanup := tmp.Close
	dr, _, err := layers.Decompress(r)
	if err != nil {
		return nil, noop, errors.Join(fmt.Errorf("spooling archive: %w", err), cleanup())
	}
	_, err = io.Copy(tmp, ctxReader(ctx, dr))
	if err = errors.Join(err, dr.Close()); err != nil {
		return nil, noop, errors.Join(fmt.Errorf("spooling archive: %w", err), cleanup())
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, noop, errors.Join(fmt.Errorf("spooling archive: %w", err), cleanup())
	}
	sec := io.NewSectionReader(tmp, 0, size)
	x, err := archive.NewReader(sec, sec)
	if err != nil {
		return nil, noop, errors.Join(err, cleanup())
	}
	return x, cleanup, nil
}

// seekableArchive returns r as a section from its current offset to its
// end if r can be read at random and is not compressed.
func seekableArchive(r io.Reader) (*io.SectionReader, bool) {
	rs, ok1 := r.(io.ReadSeeker)
	ra, ok2 := r.(io.ReaderAt)
	if !ok1 || !ok2 {
		return nil, false
	}
	cur, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, false
	}
	end, err := rs.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, false
	}
	if _, err := rs.Seek(cur, io.SeekStart); err != nil {
		return nil, false
	}
	head := make([]byte, 4)
	n, _ := ra.ReadAt(head, cur)
	if layers.DetectCompression(head[:n]) != layers.Uncompressed {
		return nil, false
	}
	return io.NewSectionReader(ra, cur, end-cur), true
}

// anonymousTemp creates a temporary file in dir and unlinks it at once:
// the open file keeps its data, and nothing is left behind when it is
// closed or the process dies.
func anonymousTemp(dir, prefix string) (*os.File, error) {
	f, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return f, nil
}

// ctxReader stops a long copy when ctx is done.
func ctxReader(ctx context.Context, r io.Reader) io.Reader { return &cancelReader{ctx, r} }

type cancelReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
