package berth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// buildApplier and buildDiffer are the methods of [layers.Overlay] and
// [layers.Copy] that a build needs beyond [layers.Snapshotter].
type buildApplier interface {
	ApplyLayer(ctx context.Context, key string, r io.Reader, opts *layers.ApplyOptions) (digest.Digest, error)
}

type buildDiffer interface {
	Diff(ctx context.Context, key string, w io.Writer, opts *layers.DiffOptions) (digest.Digest, error)
}

// snapshotKey returns a fresh key for a temporary snapshot.
func snapshotKey(kind string) string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	return "berth-build-" + kind + "-" + hex.EncodeToString(r[:])
}

// materialize makes sure the stack of layers is a committed snapshot,
// applying from the store the layers not yet unpacked, and returns its
// name ("" for no layers).
func (b *builder) materialize(ctx context.Context, descs []ocispec.Descriptor, diffIDs []digest.Digest) (string, error) {
	if len(diffIDs) == 0 {
		return "", nil
	}
	chains := layers.ChainIDs(diffIDs)
	have := -1
	for i := len(chains) - 1; i >= 0; i-- {
		info, err := b.opts.Snapshotter.Stat(ctx, chains[i].String())
		if err == nil && info.Kind == layers.KindCommitted {
			have = i
			break
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	for i := have + 1; i < len(chains); i++ {
		parent := ""
		if i > 0 {
			parent = chains[i-1].String()
		}
		if err := b.applyLayer(ctx, parent, chains[i].String(), descs[i], diffIDs[i]); err != nil {
			return "", fmt.Errorf("unpacking layer %s: %w", descs[i].Digest, err)
		}
	}
	return chains[len(chains)-1].String(), nil
}

// applyLayer commits the snapshot name: parent plus the layer desc.
func (b *builder) applyLayer(ctx context.Context, parent, name string, desc ocispec.Descriptor, diffID digest.Digest) (retErr error) {
	ap, ok := b.opts.Snapshotter.(buildApplier)
	if !ok {
		return fmt.Errorf("snapshotter %T cannot apply layers: %w", b.opts.Snapshotter, errors.ErrUnsupported)
	}
	key := snapshotKey("apply")
	if _, err := b.opts.Snapshotter.Prepare(ctx, key, parent); err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, b.opts.Snapshotter.Remove(context.WithoutCancel(ctx), key))
		}
	}()
	rc, err := b.opts.Store.Open(ctx, desc.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	got, err := ap.ApplyLayer(ctx, key, layers.VerifyReader(rc, desc), &layers.ApplyOptions{Unprivileged: os.Geteuid() != 0})
	if err != nil {
		return err
	}
	if got != diffID {
		return &layers.DigestMismatchError{Want: diffID, Got: got, WantSize: -1}
	}
	return b.commitSnapshot(ctx, name, key, diffID)
}

// commitSnapshot commits key as name, labelled like [Image.Unpack]'s
// layers. If name exists already (an equal layer was committed
// meanwhile), key is removed instead.
func (b *builder) commitSnapshot(ctx context.Context, name, key string, diffID digest.Digest) error {
	err := b.opts.Snapshotter.Commit(ctx, name, key, layers.WithLabels(map[string]string{SnapshotLabelLayer: diffID.String()}))
	if errors.Is(err, fs.ErrExist) {
		return b.opts.Snapshotter.Remove(ctx, key)
	}
	return err
}

// tree is a directory holding a snapshot's files, and how to let go of
// it.
type tree struct {
	dir     string
	release func() error
}

// openView gives read access to the committed snapshot chain; release
// unmounts and removes the view. For "" (no layers) dir is "": nothing
// exists in it.
func (b *builder) openView(ctx context.Context, chain string) (tree, error) {
	if chain == "" {
		return tree{release: func() error { return nil }}, nil
	}
	key := snapshotKey("view")
	ms, err := b.opts.Snapshotter.View(ctx, key, chain)
	if err != nil {
		return tree{}, err
	}
	remove := func() error { return b.opts.Snapshotter.Remove(context.WithoutCancel(ctx), key) }
	t, err := mountTree(key, ms)
	if err != nil {
		return tree{}, errors.Join(err, remove())
	}
	unmount := t.release
	t.release = func() error {
		if err := unmount(); err != nil {
			return err
		}
		return remove()
	}
	return t, nil
}

// mountTree mounts the snapshot key's mounts on a temporary directory,
// or uses a bind mount's source directly (which needs no privilege);
// release unmounts.
func mountTree(key string, ms []layers.Mount) (tree, error) {
	if len(ms) == 1 && ms[0].Type == "bind" {
		return tree{dir: ms[0].Source, release: func() error { return nil }}, nil
	}
	dir, err := os.MkdirTemp("", "berth-build-mnt-")
	if err != nil {
		return tree{}, err
	}
	if err := layers.MountAll(ms, dir); err != nil {
		return tree{}, errors.Join(fmt.Errorf("mounting snapshot %q: %w", key, err), os.Remove(dir))
	}
	return tree{dir: dir, release: func() error {
		if err := layers.Unmount(dir); err != nil {
			return err
		}
		return os.Remove(dir)
	}}, nil
}

// storeLayer stores the uncompressed layer tar read from r in the store.
func (b *builder) storeLayer(ctx context.Context, r io.Reader) (ocispec.Descriptor, digest.Digest, error) {
	desc, diffID, err := b.w.WriteLayer(ctx, r, b.opts.Compression)
	if err != nil {
		return ocispec.Descriptor{}, "", fmt.Errorf("storing layer: %w", err)
	}
	return desc, diffID, nil
}
