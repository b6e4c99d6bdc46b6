package layers

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
)

// DiffOptions tunes [Diff]. The zero value compares two plain trees and
// keeps timestamps as they are (truncated to seconds).
type DiffOptions struct {
	// OverlayUpper says upper is an overlayfs upper dir: the fast path
	// reads only upper, turning 0/0 character devices into whiteouts and
	// the trusted.overlay.opaque xattr into opaque markers; lower is not
	// read and may be "". Reading trusted.* xattrs needs root. The mount
	// must not have used redirect_dir, metacopy or index (the overlay
	// snapshotter never sets them).
	OverlayUpper bool
	// SkipDigest leaves the stream unhashed and makes Diff return ""
	// instead of the diffID, for callers that hash it anyway: [PutLayer]
	// computes the diffID of what it stores, so Diff piped into PutLayer
	// need not. Hashing costs about a quarter of Diff's CPU time.
	SkipDigest bool
	// SourceDateEpoch, when non-nil, clamps every timestamp later than it
	// down to it, as reproducible builds do with $SOURCE_DATE_EPOCH. Nil:
	// timestamps are kept.
	SourceDateEpoch *time.Time
}

// Diff writes to w, as an uncompressed OCI layer tar, the changes that turn
// the tree lower into the tree upper, and returns the layer's diffID
// (unless opts.SkipDigest).
// Added and modified paths are written with their parent directories;
// deleted ones as .wh.NAME whiteouts; in an overlay upper dir an opaque
// directory gets a .wh..wh..opq marker. A regular file counts as modified
// if its type, mode, owner, size, mtime, xattrs differ or, when its mtime
// has whole seconds only (coarse filesystems), its content.
//
// The output is deterministic: entries in byte order of their names (a
// directory right before its content), numeric owners without names, no
// access or change times, mtimes truncated to seconds and clamped to
// opts.SourceDateEpoch, so the same change gives the same diffID.
// Hardlinked files are written once and then as links.
//
// If w is a pipe with a buffer under 1 MiB, Diff enlarges the buffer to
// 1 MiB (F_SETPIPE_SZ, within the unprivileged limit), which makes writing
// into it markedly faster; nothing else about w changes.
//
// Nothing is followed: symlinks are stored as such. Diff does not close w;
// cancelling ctx stops it between entries. On error, w may have received
// part of a layer.
func Diff(ctx context.Context, lower, upper string, w io.Writer, opts *DiffOptions) (digest.Digest, error) {
	if opts == nil {
		opts = &DiffOptions{}
	}
	growPipe(w)
	cw := newChunkWriter(w, !opts.SkipDigest)
	tw := tar.NewWriter(cw)
	d := &differ{ctx: ctx, tw: tw, opts: opts, lower: lower, upper: upper,
		links: map[uint64]string{}, buf: make([]byte, 256<<10)}
	err := d.run()
	if err == nil {
		err = tw.Close()
	}
	dgst, cerr := cw.close()
	if err = errors.Join(err, cerr); err != nil {
		return "", fmt.Errorf("diffing %q against %q: %w", upper, lower, err)
	}
	return dgst, nil
}

// clamp truncates t to seconds and clamps it to the epoch, if any.
func (d *differ) clamp(t time.Time) time.Time {
	t = t.Truncate(time.Second)
	if e := d.opts.SourceDateEpoch; e != nil && t.After(*e) {
		return e.Truncate(time.Second)
	}
	return t
}

// whiteoutTime is the mtime of whiteout and opaque entries.
var whiteoutTime = time.Unix(0, 0)

// chunkWriter hands full buffers to goroutines that hash them and write
// them to w, so that reading files, hashing and writing the stream
// overlap.
type chunkWriter struct {
	w    io.Writer
	buf  []byte
	full chan []byte
	free chan []byte
	done chan struct{}
	err  error // set by the goroutine before done closes
	bad  atomic.Bool
	h    digest.Digester
}

func newChunkWriter(w io.Writer, hash bool) *chunkWriter {
	c := &chunkWriter{w: w, full: make(chan []byte, pipeChunks), free: make(chan []byte, pipeChunks),
		done: make(chan struct{})}
	if hash {
		c.h = digest.SHA256.Digester()
	}
	for range pipeChunks - 1 {
		c.free <- make([]byte, 0, pipeChunk)
	}
	c.buf = make([]byte, 0, pipeChunk)
	go c.consume()
	return c
}

// consume writes the full buffers to w. With hashing, a second goroutine
// hashes each buffer before it is written, so that hashing a buffer
// overlaps writing the one before.
func (c *chunkWriter) consume() {
	defer close(c.done)
	in := c.full
	if c.h != nil {
		hashed := make(chan []byte, pipeChunks)
		go func() {
			defer close(hashed)
			for b := range c.full {
				c.h.Hash().Write(b)
				hashed <- b
			}
		}()
		in = hashed
	}
	for b := range in {
		if c.err == nil {
			if _, c.err = c.w.Write(b); c.err != nil {
				c.bad.Store(true)
			}
		}
		c.free <- b[:0]
	}
}

// Write copies p into buffers; it fails once the consumer has failed.
func (c *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		m := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf = c.buf[:len(c.buf)+m]
		p, n = p[m:], n+m
		if len(c.buf) == cap(c.buf) {
			if err := c.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	c.full <- c.buf
	c.buf = <-c.free
	if c.bad.Load() {
		return errWriteFailed
	}
	return nil
}

// errWriteFailed stops the producer once the consumer's write failed; the
// real error comes from close.
var errWriteFailed = errors.New("writing layer failed")

// close flushes, waits for the goroutine and returns the digest of all
// bytes written.
func (c *chunkWriter) close() (digest.Digest, error) {
	err := c.flush()
	close(c.full)
	<-c.done
	if errors.Is(err, errWriteFailed) {
		err = nil
	}
	if err = errors.Join(err, c.err); err != nil {
		return "", err
	}
	if c.h == nil {
		return "", nil
	}
	return c.h.Digest(), nil
}
