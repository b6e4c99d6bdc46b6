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
	"strings"
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
	tmpPrefix    = "new-"
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

// cleanup removes what crashed operations left: directories of
// snapshots being prepared whose creator died, and directories no
// metadata refers to. It runs under the exclusive lock.
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
		name := ent.Name()
		p := filepath.Join(base, name)
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			errs = append(errs, removeDirIfUnlocked(p))
		case !known[name]:
			errs = append(errs, removeTree(p))
		}
	}
	return errors.Join(append(errs, cleanAtomicTemps(e.root))...)
}

// removeDirIfUnlocked removes a preparation dir unless its creator holds
// the flock on its "lock" file.
func removeDirIfUnlocked(dir string) error {
	f, err := os.Open(filepath.Join(dir, "lock"))
	if err == nil {
		defer f.Close()
		if lockFile(f, true, true) != nil {
			return nil // alive
		}
	}
	return removeTree(dir)
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
