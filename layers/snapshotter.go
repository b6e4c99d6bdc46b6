package layers

import (
	"context"
	"fmt"
	"io/fs"
	"time"
)

// Kind is the state of a snapshot.
type Kind int

const (
	// KindUnknown is the zero Kind; no snapshot has it.
	KindUnknown Kind = iota
	// KindView is a read-only snapshot made by [Snapshotter.View].
	KindView
	// KindActive is a writable snapshot made by [Snapshotter.Prepare],
	// named by its key.
	KindActive
	// KindCommitted is an immutable snapshot made by [Snapshotter.Commit],
	// named by its name; only committed snapshots can be parents.
	KindCommitted
)

// String returns "view", "active", "committed" or "unknown".
func (k Kind) String() string {
	switch k {
	case KindView:
		return "view"
	case KindActive:
		return "active"
	case KindCommitted:
		return "committed"
	}
	return "unknown"
}

// SnapshotInfo describes a snapshot.
type SnapshotInfo struct {
	// Name is the key of an active snapshot or view, or the name of a
	// committed one.
	Name string
	// Parent is the name of the committed parent, "" for none.
	Parent string
	Kind   Kind
	// Labels are free-form metadata; nil when there are none.
	Labels  map[string]string
	Created time.Time
	Updated time.Time
}

// Usage is the disk usage of a snapshot's own layer (not its parents').
type Usage struct {
	Size   int64 // bytes of disk blocks used
	Inodes int64 // files, directories and other inodes
}

// SnapshotOpt changes the [SnapshotInfo] of a snapshot being created or
// committed. Options run in order; an error aborts the operation.
type SnapshotOpt func(*SnapshotInfo) error

// WithLabels sets labels on the snapshot, replacing any of the same keys.
func WithLabels(labels map[string]string) SnapshotOpt {
	return func(info *SnapshotInfo) error {
		if info.Labels == nil {
			info.Labels = map[string]string{}
		}
		for k, v := range labels {
			info.Labels[k] = v
		}
		return nil
	}
}

// Snapshotter manages snapshots: directory trees stacked parent on child,
// each active snapshot writable, each committed one immutable. The
// vocabulary (key, name, parent, active, view, committed) is defined in
// the package documentation. Methods return [Mount] data and mount
// nothing; use [MountAll] to mount it. Implementations ([Overlay], [Copy])
// are safe for concurrent use, also by several processes sharing a root.
type Snapshotter interface {
	// Stat describes the snapshot key (or name), wrapping fs.ErrNotExist
	// if there is none.
	Stat(ctx context.Context, key string) (SnapshotInfo, error)
	// Update changes the labels of a snapshot and returns its new SnapshotInfo.
	// With no fieldpaths all labels are replaced by info.Labels; a
	// fieldpath "labels" does the same, "labels.KEY" sets or removes
	// (when absent from info.Labels) one label. Other fields are
	// immutable: naming one wraps fs.ErrInvalid.
	Update(ctx context.Context, info SnapshotInfo, fieldpaths ...string) (SnapshotInfo, error)
	// Usage reports the disk usage of the snapshot's own changes.
	Usage(ctx context.Context, key string) (Usage, error)
	// Mounts returns the mounts of the active snapshot or view key.
	Mounts(ctx context.Context, key string) ([]Mount, error)
	// Prepare creates the active snapshot key on top of the committed
	// snapshot parent ("" for an empty one) and returns its mounts. It
	// wraps fs.ErrExist if key is taken and fs.ErrNotExist if parent is
	// missing or not committed.
	Prepare(ctx context.Context, key, parent string, opts ...SnapshotOpt) ([]Mount, error)
	// View is Prepare for a read-only snapshot, which cannot be committed.
	View(ctx context.Context, key, parent string, opts ...SnapshotOpt) ([]Mount, error)
	// Commit turns the active snapshot key into the committed snapshot
	// name; key ceases to exist. The caller must have unmounted it. It
	// wraps fs.ErrExist if name is taken and fs.ErrNotExist if key is
	// not an active snapshot.
	Commit(ctx context.Context, name, key string, opts ...SnapshotOpt) error
	// Remove deletes the snapshot key (or name) and its files. It wraps
	// [ErrHasChildren] while other snapshots have it as parent, and
	// fs.ErrNotExist if there is none. The caller must have unmounted it.
	Remove(ctx context.Context, key string) error
	// Walk calls fn for every snapshot, in order of name, until fn
	// returns an error, which Walk returns. fn may call the snapshotter.
	Walk(ctx context.Context, fn func(context.Context, SnapshotInfo) error) error
	// Close releases what the snapshotter holds; it does not remove
	// snapshots. Calling it again does nothing.
	Close() error
}

func validKey(op, key string) error {
	if key == "" {
		return fmt.Errorf("%s: empty snapshot key: %w", op, errInvalidKey)
	}
	return nil
}

var errInvalidKey = fs.ErrInvalid
