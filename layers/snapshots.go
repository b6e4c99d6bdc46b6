package layers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func (e *engine) stat(ctx context.Context, key string) (SnapshotInfo, error) {
	m, err := e.load()
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("stat snapshot %q: %w", key, err)
	}
	r, ok := m.Snapshots[key]
	if !ok {
		return SnapshotInfo{}, fmt.Errorf("stat snapshot %q: %w", key, fs.ErrNotExist)
	}
	return r.info(key), ctx.Err()
}

func (e *engine) mounts(ctx context.Context, key string) ([]Mount, error) {
	m, err := e.load()
	if err != nil {
		return nil, fmt.Errorf("mounts of snapshot %q: %w", key, err)
	}
	r, ok := m.Snapshots[key]
	if !ok || r.Kind == KindCommitted {
		return nil, fmt.Errorf("mounts of snapshot %q: no active snapshot or view: %w", key, fs.ErrNotExist)
	}
	parents, err := chain(m, r.Parent)
	if err != nil {
		return nil, fmt.Errorf("mounts of snapshot %q: %w", key, err)
	}
	return e.drv.mounts(e.dir(r.ID), r.Kind, e.dirs(parents)), ctx.Err()
}

// create makes an active snapshot or view in three steps: reserve an ID
// under the lock, fill a locked preparation dir without the lock, then
// under the lock again check that key is still free and parent still
// there, move the dir into place and record it. A crash at any point
// leaves nothing that the next open does not remove.
func (e *engine) create(ctx context.Context, kind Kind, key, parent string, opts []SnapshotOpt) (_ []Mount, retErr error) {
	op := "preparing"
	if kind == KindView {
		op = "creating view"
	}
	if err := validKey(op, key); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	info := SnapshotInfo{Name: key, Parent: parent, Kind: kind, Created: now, Updated: now}
	for _, o := range opts {
		if err := o(&info); err != nil {
			return nil, fmt.Errorf("%s snapshot %q: %w", op, key, err)
		}
	}
	id, parents, tmp, lock, err := e.reserve(ctx, key, parent)
	if err != nil {
		return nil, fmt.Errorf("%s snapshot %q: %w", op, key, err)
	}
	defer func() {
		if retErr == nil { // recorded, and the lock file removed
			retErr = lock.Close()
			return
		}
		// Not recorded: tmp is removed; if recording failed after the
		// rename, the unrecorded dir is at e.dir(id) instead.
		err := removeLockedDir(tmp, lock)
		if errors.Is(err, fs.ErrNotExist) {
			err = removeLockedDir(e.dir(id), lock)
		}
		retErr = errors.Join(retErr, ignoreNotExist(err))
	}()
	if err := e.drv.populate(ctx, tmp, kind, parents); err != nil {
		return nil, fmt.Errorf("%s snapshot %q: %w", op, key, err)
	}
	if testHookPopulated != nil {
		testHookPopulated()
	}
	rec := &record{ID: id, Kind: kind, Parent: parent, Labels: info.Labels, Created: now, Updated: now}
	if err := e.record(ctx, key, tmp, rec); err != nil {
		return nil, fmt.Errorf("%s snapshot %q: %w", op, key, err)
	}
	return e.drv.mounts(e.dir(id), kind, parents), nil
}

// reserve checks that key is free and parent committed, takes a new ID
// and creates its preparation dir tmp, locked by this process (lock is the
// locked file); it returns the dirs of parent's chain, nearest first. The
// dir and its lock are made under the metadata lock, so that another
// process's cleanup, which runs under the same lock, sees either no dir
// or a locked one.
func (e *engine) reserve(ctx context.Context, key, parent string) (id uint64, parents []string, tmp string, lock *os.File, err error) {
	err = e.update(ctx, func(m *metadata) error {
		if _, ok := m.Snapshots[key]; ok {
			return fs.ErrExist
		}
		rs, err := chain(m, parent)
		if err != nil {
			return err
		}
		id, parents = m.NextID, e.dirs(rs)
		tmp = filepath.Join(e.root, snapshotsDir, fmt.Sprintf("%s%d", tmpPrefix, id))
		if err := os.Mkdir(tmp, 0o700); err != nil {
			return err
		}
		if lock, err = lockDir(tmp); err != nil {
			return errors.Join(err, os.Remove(tmp))
		}
		m.NextID++
		return nil
	})
	if err != nil && lock != nil { // made, but the metadata was not saved
		err = errors.Join(err, removeLockedDir(tmp, lock))
		lock = nil
	}
	return id, parents, tmp, lock, err
}

// record moves the filled dir tmp into place and records it as key,
// checking again that key is free and the parent still there. The dir's
// lock file goes under the metadata lock too, so no process sees a
// recorded dir with a lock file.
func (e *engine) record(ctx context.Context, key, tmp string, rec *record) error {
	return e.update(ctx, func(m *metadata) error {
		if _, ok := m.Snapshots[key]; ok {
			return fs.ErrExist
		}
		if _, err := chain(m, rec.Parent); err != nil {
			return err
		}
		dir := e.dir(rec.ID)
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(dir, lockName)); err != nil {
			return errors.Join(err, os.Rename(dir, tmp))
		}
		m.Snapshots[key] = rec
		return nil
	})
}

// testHookPopulated, when set by a test, runs between filling a new
// snapshot and recording it, so a crash can be staged there.
var testHookPopulated func()

func (e *engine) commit(ctx context.Context, name, key string, opts []SnapshotOpt) error {
	if err := validKey("committing", name); err != nil {
		return err
	}
	err := e.update(ctx, func(m *metadata) error {
		r, ok := m.Snapshots[key]
		if !ok || r.Kind != KindActive {
			return fmt.Errorf("no active snapshot %q: %w", key, fs.ErrNotExist)
		}
		if _, ok := m.Snapshots[name]; ok {
			return fmt.Errorf("name %q: %w", name, fs.ErrExist)
		}
		info := r.info(name)
		for _, o := range opts {
			if err := o(&info); err != nil {
				return err
			}
		}
		delete(m.Snapshots, key)
		now := time.Now().UTC()
		m.Snapshots[name] = &record{ID: r.ID, Kind: KindCommitted, Parent: r.Parent, Labels: info.Labels,
			Created: now, Updated: now}
		return nil
	})
	if err != nil {
		return fmt.Errorf("committing snapshot %q as %q: %w", key, name, err)
	}
	return nil
}

func (e *engine) remove(ctx context.Context, key string) error {
	var lock *os.File
	var dir string
	err := e.update(ctx, func(m *metadata) error {
		r, ok := m.Snapshots[key]
		if !ok {
			return fs.ErrNotExist
		}
		for n, c := range m.Snapshots {
			if c.Parent == key {
				return fmt.Errorf("%w (%q is one)", ErrHasChildren, n)
			}
		}
		// Lock the dir before its record goes, so that another
		// process's cleanup leaves it to this one.
		dir = e.dir(r.ID)
		var err error
		if lock, err = lockDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		delete(m.Snapshots, key) // a missing dir: only the record is left
		return nil
	})
	if err != nil {
		if lock != nil { // the record stays: so does the dir
			err = errors.Join(err, ignoreNotExist(os.Remove(filepath.Join(dir, lockName))), lock.Close())
		}
		return fmt.Errorf("removing snapshot %q: %w", key, err)
	}
	if lock == nil {
		return nil
	}
	// The record is gone; the next open removes the dir if this fails.
	if err := removeLockedDir(dir, lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing snapshot %q: %w", key, err)
	}
	return nil
}

func (e *engine) walk(ctx context.Context, fn func(context.Context, SnapshotInfo) error) error {
	m, err := e.load()
	if err != nil {
		return fmt.Errorf("walking snapshots: %w", err)
	}
	for _, n := range sortedNames(m) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(ctx, m.Snapshots[n].info(n)); err != nil {
			return err
		}
	}
	return nil
}

func (e *engine) updateInfo(ctx context.Context, info SnapshotInfo, fieldpaths []string) (SnapshotInfo, error) {
	var out SnapshotInfo
	err := e.update(ctx, func(m *metadata) error {
		r, ok := m.Snapshots[info.Name]
		if !ok {
			return fs.ErrNotExist
		}
		labels, err := updateLabels(r.Labels, info.Labels, fieldpaths)
		if err != nil {
			return err
		}
		r.Labels, r.Updated = labels, time.Now().UTC()
		out = r.info(info.Name)
		return nil
	})
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("updating snapshot %q: %w", info.Name, err)
	}
	return out, nil
}

func updateLabels(old, want map[string]string, fieldpaths []string) (map[string]string, error) {
	if len(fieldpaths) == 0 {
		return copyLabels(want), nil
	}
	out := copyLabels(old)
	for _, fp := range fieldpaths {
		if fp == "labels" {
			out = copyLabels(want)
			continue
		}
		k, ok := strings.CutPrefix(fp, "labels.")
		if !ok {
			return nil, fmt.Errorf("field %q is immutable: %w", fp, fs.ErrInvalid)
		}
		if v, ok := want[k]; ok {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		} else {
			delete(out, k)
		}
	}
	return out, nil
}

func copyLabels(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func (e *engine) usage(ctx context.Context, key string) (Usage, error) {
	m, err := e.load()
	if err != nil {
		return Usage{}, fmt.Errorf("usage of snapshot %q: %w", key, err)
	}
	r, ok := m.Snapshots[key]
	if !ok {
		return Usage{}, fmt.Errorf("usage of snapshot %q: %w", key, fs.ErrNotExist)
	}
	u, err := diskUsage(ctx, filepath.Join(e.dir(r.ID), "fs"))
	if err != nil {
		return Usage{}, fmt.Errorf("usage of snapshot %q: %w", key, err)
	}
	return u, nil
}

// activeDir returns the fs dir of the active snapshot key and whether it
// has a parent.
func (e *engine) activeDir(key string) (string, bool, error) {
	m, err := e.load()
	if err != nil {
		return "", false, err
	}
	r, ok := m.Snapshots[key]
	if !ok || r.Kind != KindActive {
		return "", false, fmt.Errorf("no active snapshot %q: %w", key, fs.ErrNotExist)
	}
	return filepath.Join(e.dir(r.ID), "fs"), r.Parent != "", nil
}
