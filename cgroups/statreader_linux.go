package cgroups

import (
	"errors"
	"io/fs"
	"sync"

	"golang.org/x/sys/unix"
)

// statReader reads one stats file and parses it into a Stats.
type statReader struct {
	f     cfile
	parse func(file string, data []byte, s *Stats) error
}

// statsBufSize holds the largest usual stats file (v2 memory.stat is
// about 2 KiB); larger files grow the buffer.
const statsBufSize = 8 << 10

var statsBufs = sync.Pool{New: func() any { return new([statsBufSize]byte) }}

// statSet reads a group's stats files, keeping each open between calls:
// reading an open cgroup file again costs one pread(2), opening it costs
// five times that. Its readers (a path per file) are made by the first
// read: a group that is never asked for stats, such as each of the
// thousands a monitor of detached containers holds, costs none. It is safe
// for concurrent use.
type statSet struct {
	mu      sync.Mutex
	build   func() []statReader // nil once the readers are made
	readers []statReader
	fds     []int // -1: not open
}

func newStatSet(build func() []statReader) *statSet { return &statSet{build: build} }

// prepare makes the readers on first use; ss.mu is held.
func (ss *statSet) prepare() {
	if ss.build == nil {
		return
	}
	ss.readers, ss.build = ss.build(), nil
	ss.fds = make([]int, len(ss.readers))
	for i := range ss.fds {
		ss.fds[i] = -1
	}
}

// read parses every file into s with one buffer. Missing files (a
// controller that is not enabled) are skipped.
func (ss *statSet) read(s *Stats) error {
	arr := statsBufs.Get().(*[statsBufSize]byte)
	defer statsBufs.Put(arr)
	buf := arr[:]
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.prepare()
	var errs []error
	for i, r := range ss.readers {
		data, err := ss.readFile(i, buf)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if cap(data) > len(buf) {
			buf = data[:cap(data)]
		}
		if err := r.parse(r.f.path, data, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// readFile reads file i through its kept fd, opening it when needed. A
// read failing because the group was removed (ENODEV) closes the fd and
// opens the file once more, in case a group was made again at the path.
func (ss *statSet) readFile(i int, buf []byte) ([]byte, error) {
	f := ss.readers[i].f
	for retry := true; ; retry = false {
		if ss.fds[i] < 0 {
			fd, err := f.open()
			if err != nil {
				return nil, err
			}
			ss.fds[i] = fd
		}
		data, err := f.readAt(ss.fds[i], buf)
		if err == nil {
			return data, nil
		}
		unix.Close(ss.fds[i])
		ss.fds[i] = -1
		if !retry || err != unix.ENODEV {
			return nil, &fs.PathError{Op: "read", Path: f.path, Err: err}
		}
	}
}

// close closes the kept fds; a later read opens them again.
func (ss *statSet) close() error {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var errs []error
	for i, fd := range ss.fds {
		if fd >= 0 {
			if err := unix.Close(fd); err != nil {
				errs = append(errs, &fs.PathError{Op: "close", Path: ss.readers[i].f.path, Err: err})
			}
			ss.fds[i] = -1
		}
	}
	return errors.Join(errs...)
}

func single(set func(s *Stats, v uint64)) func(string, []byte, *Stats) error {
	return func(file string, data []byte, s *Stats) error {
		v, err := parseSingle(file, data)
		if err == nil {
			set(s, v)
		}
		return err
	}
}

func limit(set func(s *Stats, v int64)) func(string, []byte, *Stats) error {
	return func(file string, data []byte, s *Stats) error {
		v, err := parseLimit(file, data)
		if err == nil {
			set(s, v)
		}
		return err
	}
}
