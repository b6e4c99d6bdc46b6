package layers

import "context"

var (
	_ Snapshotter = (*Overlay)(nil)
	_ Snapshotter = (*Copy)(nil)
)

// Stat implements [Snapshotter.Stat].
func (o *Overlay) Stat(ctx context.Context, key string) (SnapshotInfo, error) {
	return o.e.stat(ctx, key)
}

// Update implements [Snapshotter.Update].
func (o *Overlay) Update(ctx context.Context, info SnapshotInfo, fieldpaths ...string) (SnapshotInfo, error) {
	return o.e.updateInfo(ctx, info, fieldpaths)
}

// Usage implements [Snapshotter.Usage]: the blocks and inodes of the snapshot's own directory.
func (o *Overlay) Usage(ctx context.Context, key string) (Usage, error) { return o.e.usage(ctx, key) }

// Mounts implements [Snapshotter.Mounts].
func (o *Overlay) Mounts(ctx context.Context, key string) ([]Mount, error) {
	return o.e.mounts(ctx, key)
}

// Prepare implements [Snapshotter.Prepare].
func (o *Overlay) Prepare(ctx context.Context, key, parent string, opts ...SnapshotOpt) ([]Mount, error) {
	return o.e.create(ctx, KindActive, key, parent, opts)
}

// View implements [Snapshotter.View].
func (o *Overlay) View(ctx context.Context, key, parent string, opts ...SnapshotOpt) ([]Mount, error) {
	return o.e.create(ctx, KindView, key, parent, opts)
}

// Commit implements [Snapshotter.Commit].
func (o *Overlay) Commit(ctx context.Context, name, key string, opts ...SnapshotOpt) error {
	return o.e.commit(ctx, name, key, opts)
}

// Remove implements [Snapshotter.Remove].
func (o *Overlay) Remove(ctx context.Context, key string) error { return o.e.remove(ctx, key) }

// Walk implements [Snapshotter.Walk].
func (o *Overlay) Walk(ctx context.Context, fn func(context.Context, SnapshotInfo) error) error {
	return o.e.walk(ctx, fn)
}

// Close implements [Snapshotter.Close]. Snapshots stay on disk.
func (o *Overlay) Close() error { return o.e.close() }

// Stat implements [Snapshotter.Stat].
func (c *Copy) Stat(ctx context.Context, key string) (SnapshotInfo, error) { return c.e.stat(ctx, key) }

// Update implements [Snapshotter.Update].
func (c *Copy) Update(ctx context.Context, info SnapshotInfo, fieldpaths ...string) (SnapshotInfo, error) {
	return c.e.updateInfo(ctx, info, fieldpaths)
}

// Usage implements [Snapshotter.Usage]: the blocks and inodes of the snapshot's own directory.
func (c *Copy) Usage(ctx context.Context, key string) (Usage, error) { return c.e.usage(ctx, key) }

// Mounts implements [Snapshotter.Mounts].
func (c *Copy) Mounts(ctx context.Context, key string) ([]Mount, error) { return c.e.mounts(ctx, key) }

// Prepare implements [Snapshotter.Prepare].
func (c *Copy) Prepare(ctx context.Context, key, parent string, opts ...SnapshotOpt) ([]Mount, error) {
	return c.e.create(ctx, KindActive, key, parent, opts)
}

// View implements [Snapshotter.View].
func (c *Copy) View(ctx context.Context, key, parent string, opts ...SnapshotOpt) ([]Mount, error) {
	return c.e.create(ctx, KindView, key, parent, opts)
}

// Commit implements [Snapshotter.Commit].
func (c *Copy) Commit(ctx context.Context, name, key string, opts ...SnapshotOpt) error {
	return c.e.commit(ctx, name, key, opts)
}

// Remove implements [Snapshotter.Remove].
func (c *Copy) Remove(ctx context.Context, key string) error { return c.e.remove(ctx, key) }

// Walk implements [Snapshotter.Walk].
func (c *Copy) Walk(ctx context.Context, fn func(context.Context, SnapshotInfo) error) error {
	return c.e.walk(ctx, fn)
}

// Close implements [Snapshotter.Close]. Snapshots stay on disk.
func (c *Copy) Close() error { return c.e.close() }
