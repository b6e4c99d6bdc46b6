package layers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layout is a [Store] over an OCI image layout directory: the oci-layout
// marker file, index.json, and the blobs in blobs/<algorithm>/<hex>. It is
// the format images are imported and exported in; skopeo ("oci:DIR") and
// umoci read and write it.
//
// A Layout value is just the directory path; conversion (Layout(dir)) gives
// a read-ready store without touching the disk, while [NewLayout] also
// creates a missing layout and removes what crashed writers left behind.
// All methods are safe for concurrent use, also by several processes on the
// same directory: blobs are written to anonymous or locked temporary files
// and linked into place only when complete and verified, and index.json is
// replaced atomically under a lock file (.berth-index.lock).
type Layout string

// ingestDir holds named temporary blobs where O_TMPFILE is unavailable.
const ingestDir = ".berth-ingest"

// NewLayout opens the OCI image layout at dir, creating the directory, its
// oci-layout file, an empty index.json and blobs/ if they are missing. It
// removes partial blobs left by writers that crashed; temporary files of
// writers still running (in this or another process) are kept. It fails,
// wrapping [errors.ErrUnsupported], if an existing oci-layout file names a
// version other than 1.0.0.
func NewLayout(ctx context.Context, dir string) (Layout, error) {
	l := Layout(dir)
	if err := os.MkdirAll(filepath.Join(dir, ocispec.ImageBlobsDir, string(digest.SHA256)), 0o755); err != nil {
		return "", fmt.Errorf("creating image layout %q: %w", dir, err)
	}
	if err := l.ensureMarker(); err != nil {
		return "", err
	}
	if _, err := os.Lstat(l.indexPath()); errors.Is(err, fs.ErrNotExist) {
		idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
		idx.SchemaVersion = 2
		if err := writeFileAtomic(l.indexPath(), mustJSON(idx)); err != nil {
			return "", fmt.Errorf("creating image layout %q: %w", dir, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("opening image layout %q: %w", dir, err)
	}
	if err := errors.Join(cleanIngests(filepath.Join(dir, ingestDir)), cleanAtomicTemps(dir)); err != nil {
		return "", fmt.Errorf("opening image layout %q: %w", dir, err)
	}
	return l, ctx.Err()
}

func (l Layout) ensureMarker() error {
	p := filepath.Join(string(l), ocispec.ImageLayoutFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		if err := writeFileAtomic(p, mustJSON(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})); err != nil {
			return fmt.Errorf("creating %s: %w", p, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	var m ocispec.ImageLayout
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("decoding %s: %w", p, err)
	}
	if m.Version != ocispec.ImageLayoutVersion {
		return fmt.Errorf("image layout %q version %q: %w", string(l), m.Version, errors.ErrUnsupported)
	}
	return nil
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called with the package's own static types
	}
	return data
}

func (l Layout) indexPath() string { return filepath.Join(string(l), ocispec.ImageIndexFile) }

// BlobPath returns the path of the blob with digest dgst, after checking
// that dgst is well formed (so the path stays inside blobs/).
func (l Layout) BlobPath(dgst digest.Digest) (string, error) {
	if err := dgst.Validate(); err != nil {
		return "", fmt.Errorf("blob %q: %w", dgst, err)
	}
	return filepath.Join(string(l), ocispec.ImageBlobsDir, dgst.Algorithm().String(), dgst.Encoded()), nil
}

// Open returns a reader of the blob dgst, wrapping fs.ErrNotExist if the
// layout has no such blob. The bytes are not re-verified; use
// [VerifyReader] for that.
func (l Layout) Open(ctx context.Context, dgst digest.Digest) (io.ReadCloser, error) {
	p, err := l.BlobPath(dgst)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening blob %s: %w", dgst, err)
	}
	return f, nil
}

// Stat describes the blob dgst, wrapping fs.ErrNotExist if it is absent.
func (l Layout) Stat(ctx context.Context, dgst digest.Digest) (BlobInfo, error) {
	p, err := l.BlobPath(dgst)
	if err != nil {
		return BlobInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return BlobInfo{}, fmt.Errorf("stat blob %s: %w", dgst, err)
	}
	return BlobInfo{Digest: dgst, Size: fi.Size(), ModTime: fi.ModTime()}, ctx.Err()
}

// Delete removes the blob dgst, wrapping fs.ErrNotExist if it is absent.
// It does not update index.json; readers with the blob open keep reading.
func (l Layout) Delete(ctx context.Context, dgst digest.Digest) error {
	p, err := l.BlobPath(dgst)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("deleting blob %s: %w", dgst, err)
	}
	return nil
}

// Walk calls fn for every blob under blobs/ whose algorithm this program
// supports, skipping names that are not valid digests.
func (l Layout) Walk(ctx context.Context, fn func(BlobInfo) error) error {
	base := filepath.Join(string(l), ocispec.ImageBlobsDir)
	algs, err := os.ReadDir(base)
	if err != nil {
		return fmt.Errorf("walking blobs of %q: %w", string(l), err)
	}
	for _, a := range algs {
		if !a.IsDir() || !digest.Algorithm(a.Name()).Available() {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(base, a.Name()))
		if err != nil {
			return fmt.Errorf("walking blobs of %q: %w", string(l), err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			d := digest.NewDigestFromEncoded(digest.Algorithm(a.Name()), e.Name())
			if d.Validate() != nil || !e.Type().IsRegular() {
				continue
			}
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			} else if err != nil {
				return fmt.Errorf("walking blobs of %q: %w", string(l), err)
			}
			if err := fn(BlobInfo{Digest: d, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
				return err
			}
		}
	}
	return nil
}
