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
	"reflect"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// SnapshotLabelLayer is the label [Image.Unpack] puts on each committed
// layer snapshot; its value is the layer's diffID. [ImageStore.GC] removes
// only snapshots that carry it.
const SnapshotLabelLayer = "berth.image.layer"

// layerApplier is what Overlay and Copy offer beyond [layers.Snapshotter]:
// extracting a layer into an active snapshot without mounting it.
type layerApplier interface {
	ApplyLayer(ctx context.Context, key string, r io.Reader, opts *layers.ApplyOptions) (digest.Digest, error)
}

// Unpack makes the image's layers available as committed snapshots in sn,
// one per layer, each named by the chain ID of the stack up to it and
// labelled [SnapshotLabelLayer], and returns the top one's name (the
// image's [Image.ChainID]; "" for an image without layers). Prepare a
// container's root filesystem on it with sn.Prepare(ctx, key, chainID).
//
// Layers already committed are reused, so unpacking an image that shares
// its base with one unpacked before applies only the new layers. Each
// layer is read once, verified against its digest and its diffID, and
// applied once even when several goroutines unpack images sharing it at
// the same time; Unpacks in other processes on the same snapshotter are
// safe too (the loser of a race discards its copy). On error the layers
// committed so far stay, and nothing half-applied is left.
//
// Snapshotters with an ApplyLayer method ([layers.Overlay],
// [layers.Copy]) extract without mounting; for others the active snapshot
// is mounted on a temporary directory, which needs root. Running as
// non-root, layers are applied with [layers.ApplyOptions].Unprivileged:
// files belong to the caller and device nodes are skipped.
func (img *Image) Unpack(ctx context.Context, sn layers.Snapshotter) (string, error) {
	diffIDs := img.config.RootFS.DiffIDs
	chains := layers.ChainIDs(diffIDs)
	start, err := committedPrefix(ctx, sn, chains)
	if err != nil {
		return "", fmt.Errorf("unpacking image %s: %w", img.desc.Digest, err)
	}
	for i := start; i < len(chains); i++ {
		parent := ""
		if i > 0 {
			parent = chains[i-1].String()
		}
		if err := img.unpackOnce(ctx, sn, i, parent, chains[i].String()); err != nil {
			return "", fmt.Errorf("unpacking image %s: layer %d (%s): %w", img.desc.Digest, i, img.manifest.Layers[i].Digest, err)
		}
	}
	if len(chains) == 0 {
		return "", nil
	}
	return chains[len(chains)-1].String(), nil
}

// committedPrefix returns how many bottom layers are already committed in
// sn, looking from the top: a committed snapshot implies its parents.
func committedPrefix(ctx context.Context, sn layers.Snapshotter, chains []digest.Digest) (int, error) {
	for i := len(chains) - 1; i >= 0; i-- {
		ok, err := isCommitted(ctx, sn, chains[i].String())
		if err != nil {
			return 0, err
		}
		if ok {
			return i + 1, nil
		}
	}
	return 0, nil
}

func isCommitted(ctx context.Context, sn layers.Snapshotter, name string) (bool, error) {
	info, err := sn.Stat(ctx, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("checking snapshot %q: %w", name, err)
	case info.Kind != layers.KindCommitted:
		return false, fmt.Errorf("snapshot %q is %s, not committed: %w", name, info.Kind, fs.ErrExist)
	}
	return true, nil
}

// inflight deduplicates concurrent unpacking of the same layer snapshot
// into the same snapshotter within this process.
var inflight sync.Map // unpackKey -> *unpackCall

type unpackKey struct {
	sn    layers.Snapshotter
	chain string
}

type unpackCall struct {
	done chan struct{}
	err  error
}

// unpackOnce applies layer i as the snapshot chain, unless another
// goroutine is doing the same, in which case it waits for that one.
func (img *Image) unpackOnce(ctx context.Context, sn layers.Snapshotter, i int, parent, chain string) error {
	if !reflect.TypeOf(sn).Comparable() {
		return img.unpackLayer(ctx, sn, i, parent, chain)
	}
	key := unpackKey{sn, chain}
	call := &unpackCall{done: make(chan struct{})}
	if prev, loaded := inflight.LoadOrStore(key, call); loaded {
		other := prev.(*unpackCall)
		select {
		case <-other.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if other.err == nil {
			return nil
		}
		return img.unpackOnce(ctx, sn, i, parent, chain) // the other one failed: try ourselves
	}
	defer func() {
		inflight.Delete(key)
		close(call.done)
	}()
	ok, err := isCommitted(ctx, sn, chain)
	if err == nil && !ok {
		err = img.unpackLayer(ctx, sn, i, parent, chain)
	}
	call.err = err
	return err
}

// unpackLayer prepares a snapshot on parent, extracts layer i into it,
// checks its diffID and commits it as chain.
func (img *Image) unpackLayer(ctx context.Context, sn layers.Snapshotter, i int, parent, chain string) (retErr error) {
	key, err := unpackKeyName(chain)
	if err != nil {
		return err
	}
	if _, err := sn.Prepare(ctx, key, parent); err != nil {
		return fmt.Errorf("preparing snapshot %q: %w", key, err)
	}
	committed := false
	defer func() {
		if !committed {
			if err := sn.Remove(context.WithoutCancel(ctx), key); err != nil {
				retErr = errors.Join(retErr, fmt.Errorf("removing snapshot %q: %w", key, err))
			}
		}
	}()
	got, err := img.applyLayer(ctx, sn, key, img.manifest.Layers[i])
	if err != nil {
		return err
	}
	if want := img.config.RootFS.DiffIDs[i]; got != want {
		return fmt.Errorf("layer content does not match the config: %w", &layers.DigestMismatchError{Want: want, Got: got, WantSize: -1, GotSize: -1})
	}
	err = sn.Commit(ctx, chain, key, layers.WithLabels(map[string]string{SnapshotLabelLayer: got.String()}))
	if errors.Is(err, fs.ErrExist) {
		return nil // another process committed the same layer first; ours is removed
	}
	if err != nil {
		return fmt.Errorf("committing snapshot %q: %w", chain, err)
	}
	committed = true
	return nil
}

// unpackKeyName is a key unique to this unpack, so that concurrent
// unpackers never collide on it.
func unpackKeyName(chain string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making snapshot key: %w", err)
	}
	d := digest.Digest(chain)
	return "unpack-" + d.Encoded()[:min(16, len(d.Encoded()))] + "-" + hex.EncodeToString(b[:]), nil
}

// applyLayer extracts the blob of desc into the active snapshot key,
// verifying the blob, and returns the diffID.
func (img *Image) applyLayer(ctx context.Context, sn layers.Snapshotter, key string, desc ocispec.Descriptor) (digest.Digest, error) {
	rc, err := img.provider.Open(ctx, desc.Digest)
	if err != nil {
		return "", fmt.Errorf("opening layer: %w", err)
	}
	defer rc.Close()
	r := layers.VerifyReader(rc, desc)
	opts := &layers.ApplyOptions{Unprivileged: os.Geteuid() != 0}
	var diffID digest.Digest
	if a, ok := sn.(layerApplier); ok {
		diffID, err = a.ApplyLayer(ctx, key, r, opts)
	} else {
		diffID, err = applyMounted(ctx, sn, key, r, opts)
	}
	if err != nil {
		return "", err
	}
	// Read what the extraction left (padding after the end of the
	// archive) so that the blob's digest is checked in full.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return "", fmt.Errorf("verifying layer: %w", err)
	}
	return diffID, nil
}

// applyMounted extracts r into the active snapshot key of a snapshotter
// without ApplyLayer: into the directory of a single bind mount, or
// through a temporary mount.
func applyMounted(ctx context.Context, sn layers.Snapshotter, key string, r io.Reader, opts *layers.ApplyOptions) (_ digest.Digest, retErr error) {
	ms, err := sn.Mounts(ctx, key)
	if err != nil {
		return "", fmt.Errorf("getting mounts of snapshot %q: %w", key, err)
	}
	if len(ms) == 1 && ms[0].Type == "bind" && ms[0].Target == "" && !ms[0].ReadOnly() {
		return layers.Apply(ctx, ms[0].Source, r, opts)
	}
	dir, err := os.MkdirTemp("", "berth-unpack-")
	if err != nil {
		return "", fmt.Errorf("making unpack mountpoint: %w", err)
	}
	defer func() { retErr = errors.Join(retErr, os.Remove(dir)) }()
	if err := layers.MountAll(ms, dir); err != nil {
		return "", fmt.Errorf("mounting snapshot %q: %w", key, err)
	}
	defer func() { retErr = errors.Join(retErr, layers.UnmountAll(ms, dir)) }()
	return layers.Apply(ctx, dir, r, opts)
}
