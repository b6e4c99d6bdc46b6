package berth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A state file is a journal: a sequence of records, each a State as
// indented JSON followed by a newline, the last complete one being the
// container's current state (it is a JSON stream: `jq -s last` reads it).
// An update appends a record instead of writing a new file and renaming it
// over the old one, so that it costs no inode allocation (on ext4, under
// load, a create-and-rename costs 0.3-1.4 ms against 10-60 µs for an
// append) while staying atomic for readers and crashes alike:
//
//   - a record is complete when its closing brace, alone on its line (the
//     only one at the start of a line, indentation being two spaces), is
//     followed by a newline or the end of the file; readers take the last
//     complete record and ignore a partial one after it, which is what a
//     reader racing a writer, or a writer killed mid-append, leaves;
//   - writers hold an exclusive flock(2) on the file, find the end of the
//     last complete record, cut a torn tail off and append there;
//   - a journal grown past journalCompactSize is rewritten to its last
//     record through a temporary file renamed over it; a writer that
//     waited for the lock on the replaced file notices and starts again.

// journalCompactSize is the size past which an update rewrites the journal
// to one record.
const journalCompactSize = 64 << 10

// encodeRecord returns v as a journal record.
func encodeRecord(v any) ([]byte, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// writeNewJournal creates the journal at path, which must not exist, with
// st as its first record.
func writeNewJournal(path string, st *State) (retErr error) {
	rec, err := encodeRecord(st)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() { retErr = errors.Join(retErr, f.Close()) }()
	_, err = f.Write(rec)
	return err
}

// appendJournal appends st to the journal at path. It fails wrapping
// fs.ErrNotExist when there is no journal there.
func appendJournal(path string, st *State) error {
	rec, err := encodeRecord(st)
	if err != nil {
		return err
	}
	for range 8 {
		done, err := tryAppend(path, rec)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("appending to %s: replaced too often meanwhile", path)
}

// tryAppend appends rec under the journal's lock. It reports false, and no
// error, when the file was replaced (compacted) while it waited for the
// lock.
func tryAppend(path string, rec []byte) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fd := int(f.Fd())
	if err := flock(fd, unix.LOCK_EX); err != nil {
		return false, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	if replaced, err := replacedSinceOpen(fd, path); replaced || err != nil {
		return false, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return false, err
	}
	off, out := appendAt(data, rec)
	if off+len(out) > journalCompactSize {
		return true, compactJournal(path, rec)
	}
	if _, err := f.WriteAt(out, int64(off)); err != nil {
		return false, err
	}
	if size := off + len(out); size < len(data) {
		if err := f.Truncate(int64(size)); err != nil {
			return false, err
		}
	}
	return true, nil
}

// flock calls flock(2), again when a signal interrupts it.
func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// replacedSinceOpen reports whether path no longer names the file open as
// fd.
func replacedSinceOpen(fd int, path string) (bool, error) {
	var open, now unix.Stat_t
	if err := unix.Fstat(fd, &open); err != nil {
		return false, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if err := unix.Stat(path, &now); err != nil {
		return false, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	return open.Dev != now.Dev || open.Ino != now.Ino, nil
}

// compactJournal replaces the journal at path by one holding rec alone.
// The caller holds the lock of the file it replaces.
func compactJournal(path string, rec []byte) (retErr error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(rec); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// lastRecord returns the last complete record of a journal.
func lastRecord(data []byte) ([]byte, bool) {
	end := completeEnd(data)
	if end < 0 {
		return nil, false
	}
	start := 0
	if i := bytes.LastIndex(data[:end-2], []byte("\n}\n")); i >= 0 {
		start = i + 3
	}
	return data[start:end], true
}

// completeEnd returns the offset just past the closing brace of the last
// complete record, or -1 when there is none.
func completeEnd(data []byte) int {
	for i := len(data); ; {
		j := bytes.LastIndex(data[:i], []byte("\n}"))
		if j < 0 {
			return -1
		}
		if k := j + 2; k == len(data) || data[k] == '\n' {
			return k
		}
		i = j
	}
}

// appendAt returns where rec goes and what to write there: after the
// newline that ends the last complete record, or at 0 without one. A
// record that ends the file without its newline (the format before the
// journal) gets one first.
func appendAt(data, rec []byte) (int, []byte) {
	end := completeEnd(data)
	switch {
	case end < 0:
		return 0, rec
	case end == len(data):
		return end, append([]byte{'\n'}, rec...)
	}
	return end + 1, rec
}
