package layers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Ingest copies r into the layout as one blob, verified against want, and
// returns its descriptor (want's media type and annotations, the actual
// digest and size).
//
// If want.Digest is set, the blob is hashed with its algorithm and must
// match it and want.Size; otherwise it is hashed with SHA-256 and checked
// against want.Size only if that is positive. A mismatch returns a
// [*DigestMismatchError] and nothing is kept. If a blob with want.Digest
// already exists, Ingest returns at once without reading r.
//
// The bytes go to an anonymous temporary file (O_TMPFILE), or where the
// filesystem lacks it to a locked file under .berth-ingest, are fsynced and
// only then linked into place, so a crash never leaves a visible partial
// blob. Two writers of the same blob both succeed and leave one copy.
// Cancelling ctx aborts the copy.
func (l Layout) Ingest(ctx context.Context, r io.Reader, want ocispec.Descriptor) (_ ocispec.Descriptor, retErr error) {
	alg := digest.SHA256
	if want.Digest != "" {
		if err := want.Digest.Validate(); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %q: %w", want.Digest, err)
		}
		alg = want.Digest.Algorithm()
		if info, err := l.Stat(ctx, want.Digest); err == nil {
			if info.Size != want.Size {
				return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %s: %w", want.Digest,
					&DigestMismatchError{Want: want.Digest, Got: want.Digest, WantSize: want.Size, GotSize: info.Size})
			}
			return describe(want, want.Digest, info.Size), nil
		}
	}
	dir := filepath.Join(string(l), ocispec.ImageBlobsDir, alg.String())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %s: %w", want.Digest, err)
	}
	tmp, err := newTempBlob(dir, filepath.Join(string(l), ingestDir))
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %s: %w", want.Digest, err)
	}
	defer func() {
		if err := tmp.discard(); err != nil && retErr == nil {
			retErr = fmt.Errorf("ingesting blob %s: %w", want.Digest, err)
		}
	}()
	got, size, err := copyDigest(ctx, tmp.f, r, alg, want.Size)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %s: %w", want.Digest, err)
	}
	if err := checkDescriptor(want, got, size); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %s: %w", want.Digest, err)
	}
	if err := tmp.f.Sync(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %s: %w", got, err)
	}
	if err := tmp.publish(filepath.Join(dir, got.Encoded())); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %s: %w", got, err)
	}
	if err := syncDir(dir); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("ingesting blob %s: %w", got, err)
	}
	return describe(want, got, size), nil
}

func describe(want ocispec.Descriptor, d digest.Digest, size int64) ocispec.Descriptor {
	out := want
	out.Digest, out.Size = d, size
	return out
}

func checkDescriptor(want ocispec.Descriptor, got digest.Digest, size int64) error {
	wantSize := want.Size
	if want.Digest == "" && wantSize <= 0 {
		return nil
	}
	if want.Digest == "" || got == want.Digest {
		if size == wantSize {
			return nil
		}
	}
	return &DigestMismatchError{Want: want.Digest, Got: got, WantSize: wantSize, GotSize: size}
}

// copyDigest copies r to w, hashing with alg; with limit > 0 it stops
// reading after limit+1 bytes, enough to see that the size is wrong.
func copyDigest(ctx context.Context, w io.Writer, r io.Reader, alg digest.Algorithm, limit int64) (digest.Digest, int64, error) {
	d := alg.Digester()
	src := io.Reader(ctxReader{ctx, r})
	if limit > 0 {
		src = io.LimitReader(src, limit+1)
	}
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(io.MultiWriter(w, d.Hash()), src, buf)
	if err != nil {
		return "", n, err
	}
	return d.Digest(), n, nil
}

// tempBlob is a blob being written: an anonymous O_TMPFILE file, or a named
// file in the ingest directory that holds an exclusive flock while alive.
type tempBlob struct {
	f     *os.File
	named string // path when not anonymous
	done  bool
}

func newTempBlob(dir, fallbackDir string) (*tempBlob, error) {
	f, err := openTmpfile(dir)
	if err == nil {
		return &tempBlob{f: f}, nil
	}
	if err := os.MkdirAll(fallbackDir, 0o755); err != nil {
		return nil, err
	}
	f, err = createLocked(fallbackDir, "blob-")
	if err != nil {
		return nil, err
	}
	return &tempBlob{f: f, named: f.Name()}, nil
}

// publish links or renames the complete file to dst. An existing dst
// (written by a concurrent writer of the same digest) counts as success.
func (t *tempBlob) publish(dst string) error {
	if t.named != "" {
		if err := os.Rename(t.named, dst); err != nil {
			return err
		}
		t.done = true
		return nil
	}
	err := linkTmpfile(t.f, dst)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

// discard closes the file and removes it unless it was published.
func (t *tempBlob) discard() error {
	err := t.f.Close()
	if t.named != "" && !t.done {
		if rmErr := os.Remove(t.named); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = errors.Join(err, rmErr)
		}
	}
	return err
}

// createLocked creates a new file named prefix+random in dir and takes an
// exclusive flock on it, which it holds until the file is closed, so that
// cleanup by other processes ([removeIfUnlocked]) spares it. Cleanup may
// take the lock in the moment between creation and locking and remove the
// file: then the name no longer leads to the locked file, and another one
// is made.
func createLocked(dir, prefix string) (*os.File, error) {
	for range 100 {
		f, err := os.CreateTemp(dir, prefix+"*")
		if err != nil {
			return nil, err
		}
		if testHookTempCreated != nil {
			testHookTempCreated(f.Name())
		}
		if err := lockFile(f, true, false); err != nil {
			return nil, errors.Join(err, f.Close(), ignoreNotExist(os.Remove(f.Name())))
		}
		if ok, err := stillNamed(f); ok || err != nil {
			if err != nil {
				err = errors.Join(err, f.Close(), ignoreNotExist(os.Remove(f.Name())))
				f = nil
			}
			return f, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("creating a temporary file in %s: removed by cleanup each time: %w", dir, fs.ErrNotExist)
}

// stillNamed reports whether f's name still leads to f.
func stillNamed(f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	ni, err := os.Lstat(f.Name())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, ni), nil
}

// testHookTempCreated, when set by a test, runs between creating a
// temporary file and locking it.
var testHookTempCreated func(path string)

// cleanIngests removes the files in dir whose creator died: those on which
// a non-blocking exclusive flock succeeds. A missing dir is not an error.
func cleanIngests(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		errs = append(errs, removeIfUnlocked(filepath.Join(dir, e.Name())))
	}
	return errors.Join(errs...)
}

// removeIfUnlocked removes p if no live process holds its flock: the
// temporary file of a writer that died. The lock is taken before the
// name is removed, and only if the name still leads to the locked file.
func removeIfUnlocked(p string) error {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	if err := lockFile(f, true, true); err != nil {
		return nil // a live writer holds it
	}
	if ok, err := stillNamed(f); !ok || err != nil {
		return err // renamed into place meanwhile, or replaced
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// writeFileAtomic replaces path with data: a locked temporary file in the
// same directory, fsynced, renamed over path, then the directory fsynced.
func writeFileAtomic(path string, data []byte) (retErr error) {
	dir := filepath.Dir(path)
	f, err := createLocked(dir, ".berth-tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer func() {
		retErr = errors.Join(retErr, f.Close())
		if retErr != nil {
			retErr = errors.Join(retErr, ignoreNotExist(os.Remove(f.Name())))
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

// cleanAtomicTemps removes temporary files of writeFileAtomic in dir whose
// writer died.
func cleanAtomicTemps(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), ".berth-tmp-") {
			errs = append(errs, removeIfUnlocked(filepath.Join(dir, e.Name())))
		}
	}
	return errors.Join(errs...)
}

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
