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
// found nothing new, or ctx ends (then it returns ctx.Err()). It follows a
// rotation by reopening path when the file it reads was renamed away.
func Follow(ctx context.Context, path string, maxFiles int, interval time.Duration, done func() bool, fn func(Entry) error) error {
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}
	if err := Read(path, maxFiles, func(e Entry) error { return fn(e) }); err != nil {
		return err
	}
	var offset int64
	if st, err := os.Stat(path); err == nil {
		offset = st.Size()
	}
	for {
		n, rotated, err := readTail(path, offset, fn)
		if err != nil {
			return err
		}
		offset += n
		if rotated {
			offset = 0
			continue
		}
		if n == 0 && done() {
			// One last look: the writer may have finished since.
			n, _, err := readTail(path, offset, fn)
			if err != nil || n == 0 {
				return err
			}
			offset += n
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// readTail reads complete lines of path from offset. It reports rotated
// when the file is now shorter than offset.
func readTail(path string, offset int64, fn func(Entry) error) (int64, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("following log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("following log: %w", err)
	}
	if st.Size() < offset {
		return 0, true, nil
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, false, fmt.Errorf("following log: %w", err)
	}
	n, err := readFrom(f, fn)
	return n, false, err
}
