package berth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// ImageGCOptions tunes [ImageStore.GC]. The zero value (or nil) collects blobs
// only.
type ImageGCOptions struct {
	// Snapshotter, if not nil, also loses the layer snapshots that
	// [Image.Unpack] made (those labelled [SnapshotLabelLayer]) for images
	// no longer in the store. Snapshots that others still build on
	// (containers, views, snapshots of other layers) are kept, as are
	// snapshots without the label.
	Snapshotter layers.Snapshotter
}

// ImageGCResult reports what [ImageStore.GC] removed.
type ImageGCResult struct {
	// Blobs are the digests of the blobs deleted.
	Blobs []digest.Digest
	// Bytes is their total size.
	Bytes int64
	// Snapshots are the names of the snapshots removed.
	Snapshots []string
}

// GC deletes every blob that no image in the store references (leftovers
// of removals, interrupted imports, images written but never kept), the
// temporary files of writers that crashed, and,
// with opts.Snapshotter, the layer snapshots of images no longer in the
// store. It holds the store lock exclusively, so it waits for imports and
// [ImageWriter]s in progress (or for ctx). A manifest or config that
// cannot be decoded stops it before anything is deleted.
func (s *ImageStore) GC(ctx context.Context, opts *ImageGCOptions) (_ ImageGCResult, retErr error) {
	var res ImageGCResult
	lock, err := s.lockStore(ctx, true)
	if err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	defer func() { retErr = errors.Join(retErr, lock.unlock()) }()
	idx, err := s.layout.Index(ctx)
	if err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	live := newReach(s.layout)
	for _, e := range idx.Manifests {
		if err := live.walk(ctx, e); err != nil {
			return res, fmt.Errorf("collecting garbage: %w", err)
		}
	}
	var dead []layers.BlobInfo
	err = s.layout.Walk(ctx, func(b layers.BlobInfo) error {
		if !live.blobs[b.Digest] {
			dead = append(dead, b)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	for _, b := range dead {
		if err := s.layout.Delete(ctx, b.Digest); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, fmt.Errorf("collecting garbage: %w", err)
		}
		res.Blobs = append(res.Blobs, b.Digest)
		res.Bytes += b.Size
	}
	if err := s.cleanLeftovers(ctx); err != nil {
		return res, fmt.Errorf("collecting garbage: %w", err)
	}
	if opts != nil && opts.Snapshotter != nil {
		res.Snapshots, err = gcSnapshots(ctx, opts.Snapshotter, live.chains)
		if err != nil {
			return res, fmt.Errorf("collecting garbage: %w", err)
		}
	}
	return res, nil
}

// errKeepIndex makes UpdateIndex hold its lock without writing.
var errKeepIndex = errors.New("index left as it is")

// cleanLeftovers removes the temporary files of writers that crashed
// (partial blobs, index updates), as layers.NewLayout does. It must run
// with the store lock held exclusively, and it takes the index lock, so
// that no live writer's temporary file can be mistaken for a leftover.
func (s *ImageStore) cleanLeftovers(ctx context.Context) error {
	err := s.layout.UpdateIndex(ctx, func(*ocispec.Index) error {
		if _, err := layers.NewLayout(ctx, s.dir); err != nil {
			return err
		}
		return errKeepIndex
	})
	if errors.Is(err, errKeepIndex) {
		return nil
	}
	return err
}

// reach is the set of blobs reachable from some roots, and the chain IDs
// of the layer stacks of the images among them.
type reach struct {
	p      layers.Provider
	blobs  map[digest.Digest]bool
	chains map[string]bool
}

func newReach(p layers.Provider) *reach {
	return &reach{p: p, blobs: map[digest.Digest]bool{}, chains: map[string]bool{}}
}

// walk marks desc and everything it references. Missing blobs are
// skipped (nothing they reference can be found); undecodable ones are an
// error.
func (r *reach) walk(ctx context.Context, desc ocispec.Descriptor) error {
	if r.blobs[desc.Digest] || desc.Digest.Validate() != nil {
		return nil
	}
	r.blobs[desc.Digest] = true
	mt := desc.MediaType
	if mt != "" && !isManifestMediaType(mt) && !isIndexMediaType(mt) {
		return nil
	}
	data, err := readBlob(ctx, r.p, desc, maxJSONBlob)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var node struct {
		MediaType string               `json:"mediaType"`
		Manifests []ocispec.Descriptor `json:"manifests"`
		Config    *ocispec.Descriptor  `json:"config"`
		Layers    []ocispec.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(data, &node); err != nil {
		return fmt.Errorf("decoding %s: %v: %w", desc.Digest, err, fs.ErrInvalid)
	}
	for _, m := range node.Manifests {
		if err := r.walk(ctx, m); err != nil {
			return err
		}
	}
	for _, l := range node.Layers {
		r.blobs[l.Digest] = true
	}
	if node.Config != nil {
		r.blobs[node.Config.Digest] = true
		return r.addChains(ctx, *node.Config)
	}
	return nil
}

// addChains records the chain IDs of every prefix of the layer stack of
// the image whose config is desc.
func (r *reach) addChains(ctx context.Context, desc ocispec.Descriptor) error {
	if desc.MediaType != ocispec.MediaTypeImageConfig && desc.MediaType != mediaTypeDockerConfig {
		return nil
	}
	var cfg struct {
		RootFS ocispec.RootFS `json:"rootfs"`
	}
	data, err := readBlob(ctx, r.p, desc, maxJSONBlob)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("decoding config %s: %v: %w", desc.Digest, err, fs.ErrInvalid)
	}
	for _, c := range layers.ChainIDs(cfg.RootFS.DiffIDs) {
		r.chains[c.String()] = true
	}
	return nil
}

// gcSnapshots removes the committed, labelled layer snapshots not in
// keep, leaves first, until nothing more can go.
func gcSnapshots(ctx context.Context, sn layers.Snapshotter, keep map[string]bool) ([]string, error) {
	var cands []string
	err := sn.Walk(ctx, func(_ context.Context, info layers.SnapshotInfo) error {
		if _, ok := info.Labels[SnapshotLabelLayer]; ok && info.Kind == layers.KindCommitted && !keep[info.Name] {
			cands = append(cands, info.Name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walking snapshots: %w", err)
	}
	var removed []string
	for progress := true; progress && len(cands) > 0; {
		progress = false
		left := cands[:0]
		for _, name := range cands {
			err := sn.Remove(ctx, name)
			switch {
			case err == nil, errors.Is(err, fs.ErrNotExist):
				removed, progress = append(removed, name), true
			case errors.Is(err, layers.ErrHasChildren):
				left = append(left, name)
			default:
				return removed, fmt.Errorf("removing snapshot %q: %w", name, err)
			}
		}
		cands = left
	}
	return removed, nil
}
