package logfile

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Read calls fn for each entry of the log at path, oldest first, across
// the rotated files (up to maxFiles; <= 0 means [DefaultMaxFiles]).
// Missing files are skipped; a line that is not JSON is skipped too (a
// crash can leave a torn last line). An error from fn stops the walk and is
// returned.
func Read(path string, maxFiles int, fn func(Entry) error) error {
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}
	for i := maxFiles - 1; i >= 0; i-- {
		f, err := os.Open(Name(path, i))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("reading log: %w", err)
		}
		_, err = readFrom(f, fn)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func readFrom(r io.Reader, fn func(Entry) error) (int64, error) {
	br := bufio.NewReader(r)
	var consumed int64
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			consumed += int64(len(line))
			var e Entry
			if json.Unmarshal(line, &e) == nil {
				if ferr := fn(e); ferr != nil {
					return consumed, ferr
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return consumed, nil
		}
		if err != nil {
			return consumed, fmt.Errorf("reading log: %w", err)
		}
	}
}

// Follow is [Read] that then keeps reading what is appended to the current
// file, polling every interval, until done reports true after a poll that
// found nothing new, or ctx ends (then it returns ctx.Err()). It reads the
// current file through one open descriptor, so a rotation loses nothing:
// when path names another file, it reads the rest of the old one, then
// goes on with the new one from its start.
func Follow(ctx context.Context, path string, maxFiles int, interval time.Duration, done func() bool, fn func(Entry) error) error {
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}
	t := &tail{path: path}
	defer t.close()
	// Open the current file before reading the rotated ones, so that what is
	// written meanwhile is read from it rather than lost.
	if err := t.reopen(); err != nil {
		return err
	}
	for i := maxFiles - 1; i >= 1; i-- {
		if err := readFile(Name(path, i), fn); err != nil {
			return err
		}
	}
	for {
		n, err := t.poll(fn)
		if err != nil {
			return err
		}
		if n == 0 && done() {
			// One last look: the writer may have written and rotated since.
			if n, err = t.poll(fn); err != nil || n == 0 {
				return err
			}
			continue
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func readFile(name string, fn func(Entry) error) error {
	f, err := os.Open(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading log: %w", err)
	}
	defer f.Close()
	_, err = readFrom(f, fn)
	return err
}

// tail reads complete lines appended to one file, following renames.
type tail struct {
	path   string
	f      *os.File // nil while path does not exist
	offset int64    // end of the last complete line read from f
}

func (t *tail) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

// reopen switches to the file path names now (none if it does not exist).
func (t *tail) reopen() error {
	t.close()
	t.offset = 0
	f, err := os.Open(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("following log: %w", err)
	}
	t.f = f
	return nil
}

// poll reads what is new, across a rotation, and reports how many bytes.
func (t *tail) poll(fn func(Entry) error) (int64, error) {
	var total int64
	for {
		n, err := t.drain(fn)
		total += n
		if err != nil {
			return total, err
		}
		moved, err := t.rotated()
		if err != nil || !moved {
			return total, err
		}
		// The old file is complete: read its rest, then take the new one.
		n, err = t.drain(fn)
		total += n
		if err != nil {
			return total, err
		}
		if err := t.reopen(); err != nil {
			return total, err
		}
	}
}

func (t *tail) drain(fn func(Entry) error) (int64, error) {
	if t.f == nil {
		return 0, nil
	}
	if _, err := t.f.Seek(t.offset, io.SeekStart); err != nil {
		return 0, fmt.Errorf("following log: %w", err)
	}
	n, err := readFrom(t.f, fn)
	t.offset += n
	return n, err
}

// rotated reports whether path now names a different file than the one
// being read (or names one where there was none).
func (t *tail) rotated() (bool, error) {
	st, err := os.Stat(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // renamed away, the new one not created yet
	}
	if err != nil {
		return false, fmt.Errorf("following log: %w", err)
	}
	if t.f == nil {
		return true, nil
	}
	cur, err := t.f.Stat()
	if err != nil {
		return false, fmt.Errorf("following log: %w", err)
	}
	return !os.SameFile(st, cur), nil
}
