package layers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// engine is what both snapshotters share: the metadata of snapshots
// (metadata.json under root, replaced atomically, changed under an
// exclusive flock of root/lock) and their directories
// (root/snapshots/<id>/fs).
type engine struct {
	root   string
	drv    driver
	mu     sync.Mutex // serialises writers in this process; flock does it across processes
	lock   *os.File
	closed bool
}

// driver is what differs between the overlay and copy snapshotters.
type driver interface {
	// populate fills fs and work dirs under the new snapshot dir, given
	// the dirs of the committed ancestors, nearest first.
	populate(ctx context.Context, dir string, kind Kind, parents []string) error
	// mounts returns the mounts of a snapshot.
	mounts(dir string, kind Kind, parents []string) []Mount
}

type record struct {
	ID      uint64            `json:"id"`
	Kind    Kind              `json:"kind"`
	Parent  string            `json:"parent,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Created time.Time         `json:"created"`
	Updated time.Time         `json:"updated"`
}

type metadata struct {
	NextID    uint64             `json:"nextID"`
	Snapshots map[string]*record `json:"snapshots"`
}

const (
	metadataFile = "metadata.json"
	snapshotsDir = "snapshots"
	tmpPrefix    = "new-" // preparation dirs: snapshots/new-<id>
)

func openEngine(ctx context.Context, root string, drv driver) (_ *engine, retErr error) {
	if err := os.MkdirAll(filepath.Join(root, snapshotsDir), 0o700); err != nil {
		return nil, fmt.Errorf("opening snapshotter %q: %w", root, err)
	}
	lf, err := os.OpenFile(filepath.Join(root, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening snapshotter %q: %w", root, err)
	}
	e := &engine{root: root, drv: drv, lock: lf}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, lf.Close())
		}
	}()
	err = e.update(ctx, func(m *metadata) error { return e.cleanup(m) })
	if err != nil {
		return nil, fmt.Errorf("opening snapshotter %q: %w", root, err)
	}
	return e, nil
}

func (e *engine) close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	return e.lock.Close()
}

func (e *engine) dir(id uint64) string {
	return filepath.Join(e.root, snapshotsDir, strconv.FormatUint(id, 10))
}

// load reads the metadata; readers need no lock, as the file is replaced
// atomically.
func (e *engine) load() (*metadata, error) {
	m := &metadata{NextID: 1, Snapshots: map[string]*record{}}
	data, err := os.ReadFile(filepath.Join(e.root, metadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", metadataFile, err)
	}
	if m.Snapshots == nil {
		m.Snapshots = map[string]*record{}
	}
	return m, nil
}

// update runs fn on the metadata under the exclusive lock and saves the
// result if fn succeeds.
func (e *engine) update(ctx context.Context, fn func(*metadata) error) (retErr error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("snapshotter %q: %w", e.root, fs.ErrClosed)
	}
	if err := lockFile(e.lock, true, false); err != nil {
		return err
	}
	defer func() { retErr = errors.Join(retErr, unlockFile(e.lock)) }()
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := e.load()
	if err != nil {
		return err
	}
	if err := fn(m); err != nil {
		return err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(e.root, metadataFile), data)
}

// cleanup removes what crashed operations left: preparation dirs and
// dirs no metadata refers to, unless a live process holds the flock of
// their lock file (it is preparing or removing that snapshot, and removes
// the dir itself if it fails). It runs under the exclusive metadata lock,
// under which every such lock file is created and locked, so a dir
// without a locked lock file is abandoned, or in the last step of its
// removal (empty but for the lock file), where removing it here too is
// harmless.
func (e *engine) cleanup(m *metadata) error {
	base := filepath.Join(e.root, snapshotsDir)
	ents, err := os.ReadDir(base)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, r := range m.Snapshots {
		known[strconv.FormatUint(r.ID, 10)] = true
	}
	var errs []error
	for _, ent := range ents {
		if name := ent.Name(); !known[name] {
			errs = append(errs, removeDirIfUnlocked(filepath.Join(base, name)))
		}
	}
	return errors.Join(append(errs, cleanAtomicTemps(e.root))...)
}

// lockName is the lock file in a snapshot dir that a process holds while
// it prepares or removes the snapshot.
const lockName = "lock"

// lockDir creates (or opens) the lock file of dir and takes its
// exclusive flock. Call it under the metadata lock.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // left by a crash after a rename
		f, err = os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	}
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, true, true); err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return f, nil
}

// removeDirIfUnlocked removes dir unless a live process holds the flock
// on its lock file. A dir that vanishes meanwhile is not an error.
func removeDirIfUnlocked(dir string) error {
	f, err := os.Open(filepath.Join(dir, lockName))
	if err == nil {
		defer f.Close()
		if lockFile(f, true, true) != nil {
			return nil // alive
		}
	}
	return ignoreNotExist(removeTree(dir))
}

// removeLockedDir removes dir, whose lock file this process holds as
// lock: first everything but the lock file, then the lock file, then the
// (empty) dir; it closes lock. Until the lock file goes, other processes'
// cleanup leaves the dir alone.
func removeLockedDir(dir string, lock *os.File) error {
	ents, err := os.ReadDir(dir)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, ent := range ents {
		if ent.Name() != lockName {
			errs = append(errs, ignoreNotExist(removeTree(filepath.Join(dir, ent.Name()))))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return errors.Join(err, lock.Close())
	}
	err = ignoreNotExist(os.Remove(filepath.Join(dir, lockName)))
	if err == nil {
		err = os.Remove(dir)
	}
	return errors.Join(err, lock.Close())
}

// chain returns the records of parent and its ancestors, nearest first.
func chain(m *metadata, parent string) ([]*record, error) {
	var out []*record
	for p := parent; p != ""; {
		r, ok := m.Snapshots[p]
		if !ok || r.Kind != KindCommitted {
			return nil, fmt.Errorf("parent %q: %w", p, fs.ErrNotExist)
		}
		out = append(out, r)
		p = r.Parent
		if len(out) > len(m.Snapshots) {
			return nil, fmt.Errorf("parent %q: cycle in metadata: %w", parent, fs.ErrInvalid)
		}
	}
	return out, nil
}

func (e *engine) dirs(rs []*record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = e.dir(r.ID)
	}
	return out
}

func (r *record) info(name string) SnapshotInfo {
	info := SnapshotInfo{Name: name, Parent: r.Parent, Kind: r.Kind, Created: r.Created, Updated: r.Updated}
	if len(r.Labels) > 0 {
		info.Labels = make(map[string]string, len(r.Labels))
		for k, v := range r.Labels {
			info.Labels[k] = v
		}
	}
	return info
}

func sortedNames(m *metadata) []string {
	names := make([]string, 0, len(m.Snapshots))
	for n := range m.Snapshots {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
