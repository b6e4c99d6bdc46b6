// Package layers stores image content and turns layers into directory
// trees and back: a digest-verified content store over OCI image
// layouts, two snapshotters (overlay and copy), confined layer extraction
// ([Apply]) and deterministic change capture ([Diff]), compression and
// chain IDs.
//
// # Vocabulary
//
// These words mean one thing each throughout the package (they are
// containerd's):
//
//   - digest: the content address of a blob, "sha256:<hex>" of its bytes
//     as stored (for a layer: compressed).
//   - diffID: the digest of a layer's uncompressed tar stream.
//   - chainID: the name of a stack of layers, computed from their diffIDs
//     by [ChainID]; committed layer snapshots are named by it, so equal
//     stacks are shared.
//   - snapshot: a directory tree managed by a [Snapshotter]. Its parent is
//     the committed snapshot it was prepared on ("" for none).
//   - key: the name of an active snapshot or a view, chosen by the caller
//     in [Snapshotter.Prepare] or [Snapshotter.View].
//   - name: the name of a committed snapshot, chosen in
//     [Snapshotter.Commit]. Keys and names share one namespace.
//   - active: a writable snapshot; view: a read-only one; committed: an
//     immutable one, the only kind that can be a parent.
//   - whiteout: a ".wh.NAME" tar entry deleting NAME from lower layers;
//     opaque directory: one marked with ".wh..wh..opq", hiding everything
//     lower layers put in it.
//   - upper dir: the directory of an overlay mount that receives changes.
//
// # A worked flow
//
// Unpack an image from an OCI layout and run a container on it:
//
//	store := layers.Layout("/var/lib/app/images")
//	desc, err := store.Resolve(ctx, "myapp:1")
//	var m ocispec.Manifest
//	err = layers.GetJSON(ctx, store, desc, &m)
//	sn, err := layers.NewOverlay("/var/lib/app/snapshots")
//	var diffIDs []digest.Digest
//	parent := ""
//	for _, l := range m.Layers {
//		key := "extract-" + l.Digest.Encoded()
//		_, err = sn.Prepare(ctx, key, parent)
//		rc, err := store.Open(ctx, l.Digest)
//		diffID, err := sn.ApplyLayer(ctx, key, layers.VerifyReader(rc, l), nil)
//		rc.Close()
//		diffIDs = append(diffIDs, diffID)
//		parent = layers.ChainID(diffIDs).String() // names the stack so far
//		err = sn.Commit(ctx, parent, key)
//	}
//	mounts, err := sn.Prepare(ctx, "container-1", parent)
//	err = layers.MountAll(mounts, "/run/app/container-1/rootfs")
//	// ... run the container, then layers.UnmountAll(mounts, ...) ...
//	diffID, err := sn.Diff(ctx, "container-1", w, nil) // its changes, as a layer
//
// (Error checks are left out; each err must be checked.)
//
// # Privileges and kernel requirements
//
// The content store, [Copy], [Diff] of plain trees, and [Apply] with
// [ApplyOptions.Unprivileged] need no privilege. [Apply] without it sets
// owners and makes device nodes, so it needs root (CAP_CHOWN, CAP_MKNOD;
// CAP_SYS_ADMIN for trusted.* xattrs). [Overlay] needs root to mount and
// to write whiteouts; [MountAll] needs CAP_SYS_ADMIN in the caller's mount
// namespace and mounts there. Linux 5.6 is needed for openat2, which
// [Apply] uses to confine paths (older kernels fall back to os.Root);
// overlay stacks whose options exceed one page need Linux 6.8
// ("lowerdir+"). Everything except the content store and [ChainID]
// returns errors.ErrUnsupported on other systems.
//
// # Concurrency
//
// [Layout] and both snapshotters are safe for concurrent use by
// goroutines and by several processes on the same directory: blobs and
// metadata are written to temporary files and renamed or linked into
// place, and updates hold a flock. A process killed mid-write leaves no
// visible partial blob or snapshot; the next [NewLayout], [NewOverlay] or
// [NewCopy] removes its leftovers, and only those: a temporary file or
// snapshot dir is removed only when no live process holds its flock, so
// opening a store or snapshotter never disturbs another process's write,
// Prepare or Remove in progress.
//
// [Apply] and [Diff] use goroutines of their own (decompressing and
// hashing the stream; writing files, or reading them ahead) and both
// cores of a small machine; all have ended when they return.
//
// # Security
//
// [Apply] treats layers as hostile: every path is resolved inside the
// target directory as if it were the root, so names with "..",
// absolute names, symlinks (also ones the same layer swaps in),
// hardlinks and whiteouts can never reach outside it; entries that would
// climb above it are rejected with [ErrInvalidEntry]. [ApplyOptions.MaxSize]
// bounds decompression bombs. A layer can still carry setuid binaries and
// device nodes into the tree; run containers from it with the usual
// restrictions (no_new_privs, a device cgroup).
//
// # When not to use it
//
// Layers are not a registry client: pulling and pushing belong to
// oras-go or the root package. The snapshotters keep their metadata in a
// JSON file rewritten on every change, which suits hundreds to a few
// thousand snapshots, not millions. The copy snapshotter costs a full
// copy per snapshot; use overlay where the kernel allows it.
package layers
