package containerdsuite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/pkg/filters"
	"github.com/containerd/errdefs"

	"github.com/berthlabs/berth/layers"
)

// Adapter presents a layers.Snapshotter as a containerd snapshotter.
// Errors are mapped onto containerd's errdefs categories; Walk filters
// are evaluated here with containerd's filter syntax.
type Adapter struct {
	S layers.Snapshotter
}

var _ snapshots.Snapshotter = Adapter{}

// mapErr translates the standard categories layers wraps into errdefs.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", errdefs.ErrNotFound, err)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: %w", errdefs.ErrAlreadyExists, err)
	case errors.Is(err, layers.ErrHasChildren):
		// containerd's callers look for "remove" in this message.
		return fmt.Errorf("%w: cannot remove snapshot with children: %w", errdefs.ErrFailedPrecondition, err)
	case errors.Is(err, fs.ErrInvalid):
		return fmt.Errorf("%w: %w", errdefs.ErrInvalidArgument, err)
	}
	return err
}

func toInfo(i layers.SnapshotInfo) snapshots.Info {
	return snapshots.Info{Kind: snapshots.Kind(i.Kind), Name: i.Name, Parent: i.Parent,
		Labels: i.Labels, Created: i.Created, Updated: i.Updated}
}

func toMounts(ms []layers.Mount) []mount.Mount {
	out := make([]mount.Mount, len(ms))
	for i, m := range ms {
		out[i] = mount.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options}
	}
	return out
}

// toOpts runs containerd's options on an Info and passes on the labels.
func toOpts(opts []snapshots.Opt) ([]layers.SnapshotOpt, error) {
	var info snapshots.Info
	for _, o := range opts {
		if err := o(&info); err != nil {
			return nil, err
		}
	}
	if len(info.Labels) == 0 {
		return nil, nil
	}
	return []layers.SnapshotOpt{layers.WithLabels(info.Labels)}, nil
}

// Stat implements snapshots.Snapshotter.
func (a Adapter) Stat(ctx context.Context, key string) (snapshots.Info, error) {
	i, err := a.S.Stat(ctx, key)
	return toInfo(i), mapErr(err)
}

// Update implements snapshots.Snapshotter.
func (a Adapter) Update(ctx context.Context, info snapshots.Info, fieldpaths ...string) (snapshots.Info, error) {
	i, err := a.S.Update(ctx, layers.SnapshotInfo{Name: info.Name, Labels: info.Labels}, fieldpaths...)
	return toInfo(i), mapErr(err)
}

// Usage implements snapshots.Snapshotter.
func (a Adapter) Usage(ctx context.Context, key string) (snapshots.Usage, error) {
	u, err := a.S.Usage(ctx, key)
	return snapshots.Usage{Size: u.Size, Inodes: u.Inodes}, mapErr(err)
}

// Mounts implements snapshots.Snapshotter.
func (a Adapter) Mounts(ctx context.Context, key string) ([]mount.Mount, error) {
	ms, err := a.S.Mounts(ctx, key)
	return toMounts(ms), mapErr(err)
}

// Prepare implements snapshots.Snapshotter.
func (a Adapter) Prepare(ctx context.Context, key, parent string, opts ...snapshots.Opt) ([]mount.Mount, error) {
	o, err := toOpts(opts)
	if err != nil {
		return nil, err
	}
	ms, err := a.S.Prepare(ctx, key, parent, o...)
	return toMounts(ms), mapErr(err)
}

// View implements snapshots.Snapshotter.
func (a Adapter) View(ctx context.Context, key, parent string, opts ...snapshots.Opt) ([]mount.Mount, error) {
	o, err := toOpts(opts)
	if err != nil {
		return nil, err
	}
	ms, err := a.S.View(ctx, key, parent, o...)
	return toMounts(ms), mapErr(err)
}

// Commit implements snapshots.Snapshotter.
func (a Adapter) Commit(ctx context.Context, name, key string, opts ...snapshots.Opt) error {
	o, err := toOpts(opts)
	if err != nil {
		return err
	}
	return mapErr(a.S.Commit(ctx, name, key, o...))
}

// Remove implements snapshots.Snapshotter.
func (a Adapter) Remove(ctx context.Context, key string) error {
	return mapErr(a.S.Remove(ctx, key))
}

// Walk implements snapshots.Snapshotter, with containerd's filters.
func (a Adapter) Walk(ctx context.Context, fn snapshots.WalkFunc, fs ...string) error {
	filter, err := filters.ParseAll(fs...)
	if err != nil {
		return fmt.Errorf("%w: %w", errdefs.ErrInvalidArgument, err)
	}
	return a.S.Walk(ctx, func(ctx context.Context, i layers.SnapshotInfo) error {
		info := toInfo(i)
		if !filter.Match(adapt(info)) {
			return nil
		}
		return fn(ctx, info)
	})
}

// Close implements snapshots.Snapshotter.
func (a Adapter) Close() error { return a.S.Close() }

func adapt(info snapshots.Info) filters.Adaptor {
	return filters.AdapterFunc(func(fieldpath []string) (string, bool) {
		if len(fieldpath) == 0 {
			return "", false
		}
		switch fieldpath[0] {
		case "kind":
			switch info.Kind {
			case snapshots.KindActive:
				return "active", true
			case snapshots.KindView:
				return "view", true
			case snapshots.KindCommitted:
				return "committed", true
			}
			return "", false
		case "name":
			return info.Name, true
		case "parent":
			return info.Parent, true
		case "labels":
			if len(fieldpath) < 2 || len(info.Labels) == 0 {
				return "", false
			}
			key := fieldpath[1]
			for _, p := range fieldpath[2:] {
				key += "." + p
			}
			v, ok := info.Labels[key]
			return v, ok
		}
		return "", false
	})
}
