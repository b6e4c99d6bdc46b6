package layers

import (
	"fmt"
	"io"
	"io/fs"
	"sync"

	"golang.org/x/sys/unix"
)

// The overlay fast path of Diff spends most of its time in system calls
// per file (open, xattrs, read, close). Workers make those calls for the
// next files of a directory while the main goroutine writes the tar
// stream, so that both cores work, and hand over the file's first bytes
// (all of a small file) with its xattrs.

const (
	prefetchWindow  = 16        // files opened ahead of the writer
	prefetchBufSize = 128 << 10 // bytes read ahead per file
	prefetchBufs    = 2 * prefetchWindow
)

// prefetch is a regular file read ahead by a worker.
type prefetch struct {
	dirfd int
	name  string
	abs   string

	done chan struct{}
	fd   int // still open when the file did not fit in data, else -1
	st   unix.Stat_t
	xs   map[string]string
	data []byte
	err  error
}

// prefetcher runs the workers and owns the read-ahead buffers.
type prefetcher struct {
	jobs chan *prefetch
	bufs chan []byte
	wg   sync.WaitGroup
}

func newPrefetcher(workers int) *prefetcher {
	p := &prefetcher{jobs: make(chan *prefetch, prefetchWindow), bufs: make(chan []byte, prefetchBufs)}
	for range prefetchBufs {
		p.bufs <- make([]byte, prefetchBufSize)
	}
	for range workers {
		p.wg.Go(p.work)
	}
	return p
}

func (p *prefetcher) close() {
	close(p.jobs)
	p.wg.Wait()
}

func (p *prefetcher) work() {
	for f := range p.jobs {
		f.fd, f.err = unix.Openat(f.dirfd, f.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if f.err != nil {
			f.fd, f.err = -1, &fs.PathError{Op: "open", Path: f.abs, Err: f.err}
			close(f.done)
			continue
		}
		if err := unix.Fstat(f.fd, &f.st); err != nil {
			f.err = &fs.PathError{Op: "fstat", Path: f.abs, Err: err}
		} else if f.st.Mode&unix.S_IFMT != unix.S_IFREG {
			f.err = fmt.Errorf("%s changed type while being read: %w", f.abs, fs.ErrInvalid)
		}
		if f.err == nil {
			f.xs, f.err = fdXattrs(f.fd, f.abs)
		}
		if f.err == nil {
			f.data, f.err = readAhead(f, <-p.bufs)
		}
		if f.err == nil && int64(len(f.data)) == f.st.Size {
			unix.Close(f.fd)
			f.fd = -1
		}
		close(f.done)
	}
}

// readAhead reads the first bytes of f into buf.
func readAhead(f *prefetch, buf []byte) ([]byte, error) {
	want := min(int64(len(buf)), f.st.Size)
	n := 0
	for int64(n) < want {
		m, err := unix.Read(f.fd, buf[n:want])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return buf[:0], &fs.PathError{Op: "read", Path: f.abs, Err: err}
		}
		if m == 0 {
			return buf[:0], fmt.Errorf("reading %s: %w (file shrank while being read)", f.abs, io.ErrUnexpectedEOF)
		}
		n += m
	}
	return buf[:n], nil
}

// release closes what a prefetch still holds and returns its buffer.
func (p *prefetcher) release(f *prefetch) {
	<-f.done
	if f.fd >= 0 {
		unix.Close(f.fd)
		f.fd = -1
	}
	if cap(f.data) > 0 {
		p.bufs <- f.data[:cap(f.data)]
		f.data = nil
	}
}

// dirPrefetch queues the regular files of one directory, a window ahead.
type dirPrefetch struct {
	p       *prefetcher
	files   []*prefetch // by node index; nil for other nodes
	queued  int         // nodes considered for queueing so far
	pending []*prefetch // queued, not yet released
}

func (p *prefetcher) forDir(dirfd int, nodes []node) *dirPrefetch {
	dp := &dirPrefetch{p: p, files: make([]*prefetch, len(nodes))}
	for i := range nodes {
		n := &nodes[i]
		if n.st.Mode&unix.S_IFMT == unix.S_IFREG {
			_, base := splitName(n.rel)
			dp.files[i] = &prefetch{dirfd: dirfd, name: base, abs: n.abs, done: make(chan struct{}), fd: -1}
		}
	}
	return dp
}

// get queues files up to a window past node i and returns node i's
// prefetch (nil if it is not a regular file).
func (dp *dirPrefetch) get(i int) *prefetch {
	for dp.queued < len(dp.files) && len(dp.pending) < prefetchWindow {
		if f := dp.files[dp.queued]; f != nil {
			dp.p.jobs <- f
			dp.pending = append(dp.pending, f)
		}
		dp.queued++
	}
	return dp.files[i]
}

// done releases node i's prefetch.
func (dp *dirPrefetch) done(f *prefetch) {
	dp.p.release(f)
	for j, g := range dp.pending {
		if g == f {
			dp.pending = append(dp.pending[:j], dp.pending[j+1:]...)
			break
		}
	}
}

// close waits for and releases everything still queued, before the
// directory fd the jobs use is closed.
func (dp *dirPrefetch) close() {
	for _, f := range dp.pending {
		dp.p.release(f)
	}
	dp.pending = nil
}
