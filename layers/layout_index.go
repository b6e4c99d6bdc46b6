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

// indexLock is the lock file serialising updates of index.json.
const indexLock = ".berth-index.lock"

// Index reads index.json, wrapping fs.ErrNotExist if the layout has none.
func (l Layout) Index(ctx context.Context) (ocispec.Index, error) {
	var idx ocispec.Index
	data, err := os.ReadFile(l.indexPath())
	if err != nil {
		return idx, fmt.Errorf("reading index of %q: %w", string(l), err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return idx, fmt.Errorf("decoding index of %q: %w", string(l), err)
	}
	return idx, ctx.Err()
}

// UpdateIndex reads index.json, calls fn on it and writes the result back
// atomically, holding an exclusive lock so that concurrent updaters (also
// in other processes) do not lose each other's changes. If fn returns an
// error, nothing is written and that error is returned.
func (l Layout) UpdateIndex(ctx context.Context, fn func(*ocispec.Index) error) (retErr error) {
	lf, err := os.OpenFile(filepath.Join(string(l), indexLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("locking index of %q: %w", string(l), err)
	}
	defer func() { retErr = errors.Join(retErr, lf.Close()) }()
	if err := lockFile(lf, true, false); err != nil {
		return fmt.Errorf("locking index of %q: %w", string(l), err)
	}
	idx, err := l.Index(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		idx = ocispec.Index{MediaType: ocispec.MediaTypeImageIndex}
		idx.SchemaVersion = 2
	} else if err != nil {
		return err
	}
	if err := fn(&idx); err != nil {
		return err
	}
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{}
	}
	if err := writeFileAtomic(l.indexPath(), mustJSON(idx)); err != nil {
		return fmt.Errorf("writing index of %q: %w", string(l), err)
	}
	return nil
}

// Tag records desc (usually an image manifest) in index.json under the
// name ref, in the org.opencontainers.image.ref.name annotation, as skopeo
// ("oci:DIR:ref") and umoci ("--image DIR:ref") expect. An entry with the
// same ref is replaced. The blob of desc should already be in the layout.
func (l Layout) Tag(ctx context.Context, ref string, desc ocispec.Descriptor) error {
	if ref == "" {
		return fmt.Errorf("tagging %s: empty ref: %w", desc.Digest, fs.ErrInvalid)
	}
	if err := desc.Digest.Validate(); err != nil {
		return fmt.Errorf("tagging %s as %q: %w", desc.Digest, ref, err)
	}
	return l.UpdateIndex(ctx, func(idx *ocispec.Index) error {
		kept := idx.Manifests[:0]
		for _, m := range idx.Manifests {
			if m.Annotations[ocispec.AnnotationRefName] != ref {
				kept = append(kept, m)
			}
		}
		d := desc
		d.Annotations = make(map[string]string, len(desc.Annotations)+1)
		for k, v := range desc.Annotations {
			d.Annotations[k] = v
		}
		d.Annotations[ocispec.AnnotationRefName] = ref
		idx.Manifests = append(kept, d)
		return nil
	})
}

// Resolve returns the descriptor in index.json tagged ref, or whose digest
// is ref. It wraps fs.ErrNotExist if there is none.
func (l Layout) Resolve(ctx context.Context, ref string) (ocispec.Descriptor, error) {
	idx, err := l.Index(ctx)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, m := range idx.Manifests {
		if m.Annotations[ocispec.AnnotationRefName] == ref || m.Digest.String() == ref {
			return m, nil
		}
	}
	if len(idx.Manifests) == 1 && ref == "" {
		return idx.Manifests[0], nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("resolving %q in %q: %w", ref, string(l), fs.ErrNotExist)
}

// VerifyReader wraps r so that reading it to the end checks size and
// digest against desc: the final Read returns a [*DigestMismatchError]
// instead of io.EOF if they differ. An invalid desc.Digest makes the first
// Read fail.
func VerifyReader(r io.Reader, desc ocispec.Descriptor) io.Reader {
	if err := desc.Digest.Validate(); err != nil {
		return errReader{fmt.Errorf("verifying %q: %w", desc.Digest, err)}
	}
	return &verifyingReader{r: r, want: desc, d: desc.Digest.Algorithm().Digester()}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

type verifyingReader struct {
	r    io.Reader
	want ocispec.Descriptor
	d    digest.Digester
	n    int64
}

// Read reads and hashes; at EOF it verifies.
func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.d.Hash().Write(p[:n])
	if v.n > v.want.Size {
		return n, &DigestMismatchError{Want: v.want.Digest, WantSize: v.want.Size, GotSize: v.n}
	}
	if err == io.EOF {
		if got := v.d.Digest(); got != v.want.Digest || v.n != v.want.Size {
			return n, &DigestMismatchError{Want: v.want.Digest, Got: got, WantSize: v.want.Size, GotSize: v.n}
		}
	}
	return n, err
}
