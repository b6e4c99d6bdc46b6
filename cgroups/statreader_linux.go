package cgroups

import (
	"errors"
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

// readStats runs each reader with one buffer. Missing files are skipped.
func readStats(readers []statReader, s *Stats) error {
	arr := statsBufs.Get().(*[statsBufSize]byte)
	defer statsBufs.Put(arr)
	buf := arr[:]
	var errs []error
	for _, r := range readers {
		data, err := r.f.read(buf)
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
