package berth

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// cacheVersion changes whenever the layers a step makes change for the
// same key, so old entries stop matching.
const cacheVersion = "berth-build-cache-v1"

// cacheEntry is the result of a step that made a layer.
type cacheEntry struct {
	Layer  ocispec.Descriptor `json:"layer"`
	DiffID digest.Digest      `json:"diffID"`
}

// stepKey accumulates the inputs of a step into its cache key. Every
// value is length-prefixed, so that no two sequences of values collide.
type stepKey struct{ h hash.Hash }

// newStepKey starts the key of a step of kind op on the layers parent
// ("" for none, or for a --link step that does not depend on them).
func (b *builder) newStepKey(op, parent string) *stepKey {
	k := &stepKey{h: sha256.New()}
	k.add(cacheVersion, op, parent, b.epoch.UTC().Format("2006-01-02T15:04:05Z"), b.opts.Compression.String())
	return k
}

// add hashes values, each with its length.
func (k *stepKey) add(values ...string) {
	var n [8]byte
	for _, v := range values {
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		k.h.Write(n[:])
		k.h.Write([]byte(v))
	}
}

// addList hashes a list with its length, so that lists side by side
// cannot trade elements.
func (k *stepKey) addList(values []string) {
	k.add(fmt.Sprint(len(values)))
	k.add(values...)
}

func (k *stepKey) digest() digest.Digest {
	return digest.NewDigestFromBytes(digest.SHA256, k.h.Sum(nil))
}

// cachePath is where the entry for key is kept.
func (b *builder) cachePath(key digest.Digest) string {
	return filepath.Join(b.cacheDir, "steps", key.Encoded()+".json")
}

// cacheLookup returns the entry for key if it exists and its layer blob
// is still in the store (a GC may have taken it).
func (b *builder) cacheLookup(ctx context.Context, key digest.Digest) (cacheEntry, bool, error) {
	var e cacheEntry
	if b.opts.NoCache {
		return e, false, nil
	}
	data, err := os.ReadFile(b.cachePath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return e, false, nil
	} else if err != nil {
		return e, false, fmt.Errorf("reading build cache: %w", err)
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Layer.Digest.Validate() != nil || e.DiffID.Validate() != nil {
		return e, false, nil // a damaged entry is a miss; the step rewrites it
	}
	if _, err := layers.Layout(b.opts.Store.Dir()).Stat(ctx, e.Layer.Digest); errors.Is(err, fs.ErrNotExist) {
		return e, false, nil
	} else if err != nil {
		return e, false, err
	}
	return e, true, nil
}

// cacheStore records the entry for key, atomically.
func (b *builder) cacheStore(key digest.Digest, e cacheEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	p := b.cachePath(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("writing build cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".entry-*")
	if err != nil {
		return fmt.Errorf("writing build cache: %w", err)
	}
	_, err = tmp.Write(data)
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing build cache: %w", err)
	}
	return nil
}
