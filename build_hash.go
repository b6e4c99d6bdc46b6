package berth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
)

// fileHashes remembers the content digests of the files a build read,
// by path and inode state, so that a file two steps read is hashed once.
type fileHashes struct {
	mu sync.Mutex
	m  map[hashKey]string
}

type hashKey struct {
	path       string
	dev, ino   uint64
	size       int64
	mtime, ctm int64
}

func newFileHashes() *fileHashes { return &fileHashes{m: map[hashKey]string{}} }

// sum returns the hex SHA-256 of the regular file f's content (or of its
// inline data).
func (h *fileHashes) sum(f *srcFile) (string, error) {
	if f.abs == "" {
		s := sha256.Sum256(f.data)
		return hex.EncodeToString(s[:]), nil
	}
	k := hashKey{path: f.abs, dev: f.dev, ino: f.ino, size: f.size, mtime: f.mtime.UnixNano(), ctm: f.ctime}
	reuse := f.ino != 0
	if reuse {
		h.mu.Lock()
		s, ok := h.m[k]
		h.mu.Unlock()
		if ok {
			return s, nil
		}
	}
	s, err := hashFile(f.abs, f.size)
	if err != nil {
		return "", err
	}
	if reuse {
		h.mu.Lock()
		h.m[k] = s
		h.mu.Unlock()
	}
	return s, nil
}

// hashFile hashes the file at p, which must hold size bytes.
func hashFile(p string, size int64) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	d := sha256.New()
	n, err := io.Copy(d, f)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	if n != size {
		return "", fmt.Errorf("reading %s: it changed size during the build (%d, then %d bytes)", p, size, n)
	}
	return hex.EncodeToString(d.Sum(nil)), nil
}
