package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageRemoveOptions tunes [ImageStore.Remove]. The zero value (or nil) is
// Docker's default.
type ImageRemoveOptions struct {
	// Force removes an image named by ID or digest even if it has several
	// names, all of which go. False: that case fails, wrapping fs.ErrExist.
	Force bool
}

// ImageRemoveResult reports what [ImageStore.Remove] did.
type ImageRemoveResult struct {
	// Untagged are the names removed.
	Untagged []string
	// Deleted is the manifest digest of the image deleted; "" when only a
	// name was removed and the image stays under its other names.
	Deleted digest.Digest
	// Blobs are the blobs deleted: those of the image that no other image
	// in the store references.
	Blobs []digest.Digest
}

// Remove deletes an image the way "docker rmi" does. Given a name of an
// image that has other names, it removes only that name. Given its last
// name, or its ID or digest, it removes the image and every blob of it
// that no other image references (layers shared with other images stay).
// An image with several names given by ID or digest is refused unless
// opts.Force. It wraps fs.ErrNotExist if ref finds no image.
//
// Remove holds the store lock exclusively while it deletes, so it waits
// for imports in progress. Snapshots unpacked from the image stay until
// [ImageStore.GC] with a snapshotter.
func (s *ImageStore) Remove(ctx context.Context, ref string, opts *ImageRemoveOptions) (_ ImageRemoveResult, retErr error) {
	var res ImageRemoveResult
	lock, err := s.lockStore(ctx, true)
	if err != nil {
		return res, fmt.Errorf("removing image %q: %w", ref, err)
	}
	defer func() { retErr = errors.Join(retErr, lock.unlock()) }()
	var gone ocispec.Descriptor
	var rest []ocispec.Descriptor
	err = s.layout.UpdateIndex(ctx, func(idx *ocispec.Index) error {
		res = ImageRemoveResult{}
		if err := s.removeEntries(ctx, idx, ref, opts, &res, &gone); err != nil {
			return err
		}
		rest = append([]ocispec.Descriptor(nil), idx.Manifests...)
		return nil
	})
	if err != nil {
		return ImageRemoveResult{}, fmt.Errorf("removing image %q: %w", ref, err)
	}
	if res.Deleted == "" {
		return res, nil
	}
	res.Blobs, err = s.deleteUnshared(ctx, gone, rest)
	if err != nil {
		return res, fmt.Errorf("removing image %q: %w", ref, err)
	}
	return res, nil
}

// removeEntries updates idx for Remove and fills res; gone receives the
// entry of a deleted image.
func (s *ImageStore) removeEntries(ctx context.Context, idx *ocispec.Index, ref string, opts *ImageRemoveOptions, res *ImageRemoveResult, gone *ocispec.Descriptor) error {
	m, err := s.match(ctx, idx.Manifests, ref)
	if err != nil {
		return err
	}
	e := idx.Manifests[m.entry]
	names := namesOf(idx.Manifests, e.Digest)
	if m.byName != "" && len(names) > 1 {
		idx.Manifests = append(idx.Manifests[:m.entry], idx.Manifests[m.entry+1:]...)
		res.Untagged = []string{refName(e)}
		return nil
	}
	if m.byName == "" && len(names) > 1 && (opts == nil || !opts.Force) {
		return fmt.Errorf("image %s has several names (%s); remove them one by one or force: %w",
			e.Digest, strings.Join(names, ", "), fs.ErrExist)
	}
	kept := idx.Manifests[:0]
	for _, x := range idx.Manifests {
		if x.Digest != e.Digest {
			kept = append(kept, x)
		}
	}
	idx.Manifests = kept
	res.Untagged, res.Deleted, *gone = names, e.Digest, entryDesc(e)
	return nil
}

// deleteUnshared deletes the blobs reachable from gone that none of rest
// reaches.
func (s *ImageStore) deleteUnshared(ctx context.Context, gone ocispec.Descriptor, rest []ocispec.Descriptor) ([]digest.Digest, error) {
	live := newReach(s.layout)
	for _, e := range rest {
		if err := live.walk(ctx, e); err != nil {
			return nil, err
		}
	}
	dead := newReach(s.layout)
	if err := dead.walk(ctx, gone); err != nil {
		return nil, err
	}
	var deleted []digest.Digest
	for d := range dead.blobs {
		if live.blobs[d] {
			continue
		}
		err := s.layout.Delete(ctx, d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return deleted, err
		}
		deleted = append(deleted, d)
	}
	return deleted, nil
}
