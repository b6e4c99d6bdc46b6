package layers

import (
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// fileWriter writes the content and metadata of regular files on
// goroutines of its own while the extracting goroutine goes on parsing
// the stream and creating the next files, so that the kernel's work per
// file (creating it, copying its data into the page cache, setting its
// times, closing it) is spread over the cores. All ops of one file go to
// the same goroutine (chosen by fd), in order.
//
// Only the file descriptor is handed over: the extracting goroutine
// creates every file by name (openat O_CREAT|O_EXCL|O_NOFOLLOW in its
// confined parent), so all name operations (replacing, linking, whiting
// out) keep the order of the stream, and the writer never resolves a
// path. A later entry that removes or replaces a file still being written
// unlinks its name; the writes then go to the orphaned inode, which is
// what applying the entries one after the other would leave, too.
type fileWriter struct {
	ops    []chan writeOp
	free   chan []byte
	bufs   int // buffers allocated so far, up to writerBuffers
	wg     sync.WaitGroup
	failed atomic.Bool
	mu     sync.Mutex
	err    error // the first failure; read after wg is done
	once   sync.Once
}

// writeOp is one piece of a file: data to write at the current offset
// and, with last set, the metadata to apply before closing fd. An op
// without meta only closes fd (the file was abandoned).
type writeOp struct {
	fd   int
	data []byte // a buffer from free, or nil
	last bool
	meta *fileMeta
}

// fileMeta is what is set on a regular file once its content is written.
type fileMeta struct {
	name         string // the entry name, for errors
	uid, gid     int
	mode         uint32
	chown, chmod bool
	xattrs       map[string]string
	times        [2]unix.Timespec
}

const (
	writerCount   = 2         // goroutines writing; a file's ops all go to one
	writerChunk   = 256 << 10 // bytes handed over per op
	writerBuffers = 32        // chunks in flight at most (8 MiB)
)

func newFileWriter() *fileWriter {
	w := &fileWriter{
		free: make(chan []byte, writerBuffers),
	}
	for range writerCount {
		c := make(chan writeOp, writerBuffers)
		w.ops = append(w.ops, c)
		w.wg.Go(func() { w.loop(c) })
	}
	return w
}

// buffer returns a free chunk buffer, allocating one while fewer than
// writerBuffers exist, else waiting for the writer to release one.
func (w *fileWriter) buffer() []byte {
	select {
	case b := <-w.free:
		return b
	default:
	}
	if w.bufs < writerBuffers {
		w.bufs++
		return make([]byte, writerChunk)
	}
	return <-w.free
}

// write hands the content of the open file fd, read from r, and its
// metadata to the writer, which from then on owns fd and closes it. It
// returns an error for failures reading r, or the writer's first error
// (see [fileWriter.wait]) once it has one.
func (w *fileWriter) write(fd int, r io.Reader, size int64, meta *fileMeta) error {
	for {
		if w.failed.Load() {
			w.ops[fd%len(w.ops)] <- writeOp{fd: fd, last: true} // close only
			return w.wait()
		}
		n := int(min(size, writerChunk))
		var buf []byte
		if n > 0 {
			buf = w.buffer()
			if _, err := io.ReadFull(r, buf[:n]); err != nil {
				w.free <- buf
				w.ops[fd%len(w.ops)] <- writeOp{fd: fd, last: true} // close only
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
			buf = buf[:n]
		}
		size -= int64(n)
		last := size <= 0
		w.ops[fd%len(w.ops)] <- writeOp{fd: fd, data: buf, last: last, meta: meta}
		if last {
			return nil
		}
	}
}

func (w *fileWriter) loop(ops chan writeOp) {
	for op := range ops {
		if op.meta != nil && !w.failed.Load() {
			if err := apply(op); err != nil {
				w.mu.Lock()
				if w.err == nil {
					w.err = err
				}
				w.mu.Unlock()
				w.failed.Store(true)
			}
		}
		if op.data != nil {
			w.free <- op.data[:cap(op.data)]
		}
		if op.last {
			unix.Close(op.fd)
		}
	}
}

// apply writes op's data and, for the last op of a file, sets its
// metadata.
func apply(op writeOp) error {
	for off := 0; off < len(op.data); {
		m, err := unix.Write(op.fd, op.data[off:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return entryError(op.meta.name, &fs.PathError{Op: "write", Path: op.meta.name, Err: err})
		}
		off += m
	}
	if op.last {
		return setFileMeta(op.fd, op.meta)
	}
	return nil
}

// setFileMeta sets owner, mode (after chown, which clears setuid),
// xattrs and times on the open regular file fd.
func setFileMeta(fd int, m *fileMeta) error {
	if m.chown {
		if err := unix.Fchown(fd, m.uid, m.gid); err != nil {
			return entryError(m.name, &fs.PathError{Op: "fchown", Path: m.name, Err: err})
		}
	}
	if m.chmod {
		if err := unix.Fchmod(fd, m.mode); err != nil {
			return entryError(m.name, &fs.PathError{Op: "fchmod", Path: m.name, Err: err})
		}
	}
	for k, v := range m.xattrs {
		if err := unix.Fsetxattr(fd, k, []byte(v), 0); err != nil {
			return entryError(m.name, &fs.PathError{Op: "setxattr " + k, Path: m.name, Err: err})
		}
	}
	if err := futimens(fd, &m.times); err != nil {
		return entryError(m.name, &fs.PathError{Op: "futimens", Path: m.name, Err: err})
	}
	return nil
}

// wait stops the writer once everything handed over is written and
// returns its first error. It may be called more than once.
func (w *fileWriter) wait() error {
	w.once.Do(func() {
		for _, c := range w.ops {
			close(c)
		}
	})
	w.wg.Wait()
	return w.err
}

// writerErr returns the file writer's error if it has failed.
func (x *extractor) writerErr() error {
	if !x.w.failed.Load() {
		return nil
	}
	return x.w.wait()
}

// wait waits until every file handed to the writer is complete.
func (x *extractor) wait() error {
	return x.w.wait()
}
