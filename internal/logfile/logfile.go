// Package logfile records a container's stdout and stderr as JSON lines,
// like Docker's json-file driver, in a file capped in size and rotated:
// when the current file would grow past MaxSize it becomes NAME.1, NAME.1
// becomes NAME.2, and so on up to MaxFiles files in all.
package logfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Entry is one record: a chunk of one stream, at most one line.
type Entry struct {
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"` // "stdout" or "stderr"
	Log    string    `json:"log"`
}

// Writer appends entries to a rotated log. It is safe for concurrent use.
type Writer struct {
	path     string
	maxSize  int64
	maxFiles int

	mu   sync.Mutex
	f    *os.File
	size int64
	now  func() time.Time
}

// Defaults for [Open] when a limit is zero or negative.
const (
	DefaultMaxSize  = 10 << 20
	DefaultMaxFiles = 2
)

// Open opens (creating, mode 0600) the log at path for appending. A
// maxSize <= 0 means [DefaultMaxSize] bytes and maxFiles <= 0 means
// [DefaultMaxFiles]; maxFiles counts the current file.
func Open(path string, maxSize int64, maxFiles int) (*Writer, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if maxFiles <= 0 {
		maxFiles = DefaultMaxFiles
	}
	w := &Writer{path: path, maxSize: maxSize, maxFiles: maxFiles, now: time.Now}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening log: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// Stream returns an io.Writer whose writes become entries of the named
// stream, one per line (a final partial line is an entry too).
func (w *Writer) Stream(name string) *StreamWriter {
	return &StreamWriter{w: w, name: name}
}

// StreamWriter is the writer [Writer.Stream] returns.
type StreamWriter struct {
	w    *Writer
	name string
}

// Write records p, split at newlines. It never returns a short count
// without an error.
func (s *StreamWriter) Write(p []byte) (int, error) {
	rest := p
	for len(rest) > 0 {
		n := len(rest)
		for i, b := range rest {
			if b == '\n' {
				n = i + 1
				break
			}
		}
		if err := s.w.append(Entry{Stream: s.name, Log: string(rest[:n])}); err != nil {
			return len(p) - len(rest), err
		}
		rest = rest[n:]
	}
	return len(p), nil
}

func (w *Writer) append(e Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	e.Time = w.now().UTC()
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if w.size > 0 && w.size+int64(len(line)) > w.maxSize {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(line)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("writing log: %w", err)
	}
	return nil
}

func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("rotating log: %w", err)
	}
	w.f = nil
	for i := w.maxFiles - 1; i >= 1; i-- {
		from := Name(w.path, i-1)
		err := os.Rename(from, Name(w.path, i))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotating log: %w", err)
		}
	}
	if w.maxFiles == 1 {
		if err := os.Remove(w.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotating log: %w", err)
		}
	}
	return w.open()
}

// Close closes the current file. Later writes fail with os.ErrClosed.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// Name returns the path of the i-th file of the log at path: path itself
// for 0, path.i after.
func Name(path string, i int) string {
	if i == 0 {
		return path
	}
	return path + "." + strconv.Itoa(i)
}
