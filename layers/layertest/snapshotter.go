package layertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
)

// SnapshotterFactory opens the snapshotter whose state lives in root. The
// suite calls it again on the same root to check persistence, and closes
// what it returns.
type SnapshotterFactory func(t *testing.T, root string) layers.Snapshotter

// LayerApplier is implemented by snapshotters that can extract a layer
// into an active snapshot without mounting it ([layers.Overlay],
// [layers.Copy]). The suite uses it when present and otherwise mounts the
// snapshot and calls [layers.Apply].
type LayerApplier interface {
	ApplyLayer(ctx context.Context, key string, r io.Reader, opts *layers.ApplyOptions) (digest.Digest, error)
}

// Differ is implemented by snapshotters that can write the changes of an
// active snapshot as a layer.
type Differ interface {
	Diff(ctx context.Context, key string, w io.Writer, opts *layers.DiffOptions) (digest.Digest, error)
}

// SuiteOptions tunes [SnapshotterSuite].
type SuiteOptions struct {
	// Apply is passed to layers.Apply / ApplyLayer; set Unprivileged for
	// snapshotters tested without root.
	Apply layers.ApplyOptions
	// DeepChain is how many layers the deep-stack test stacks; 0 means 150.
	DeepChain int
}

// SnapshotterSuite runs the conformance tests of the Snapshotter
// contract against snapshotters made by factory.
func SnapshotterSuite(t *testing.T, factory SnapshotterFactory, opts SuiteOptions) {
	s := &suite{factory: factory, opts: opts}
	t.Run("Lifecycle", s.lifecycle)
	t.Run("Errors", s.errors)
	t.Run("RemoveParent", s.removeParent)
	t.Run("Labels", s.labels)
	t.Run("Persistence", s.persistence)
	t.Run("WhiteoutsAcrossThreeLayers", s.threeLayers)
	t.Run("ViewIsReadOnlyAndStable", s.view)
	t.Run("DiffRoundTrip", s.diffRoundTrip)
	t.Run("Usage", s.usage)
	t.Run("ConcurrentPrepare", s.concurrent)
	t.Run("DeepChain", s.deepChain)
}

type suite struct {
	factory SnapshotterFactory
	opts    SuiteOptions
}

func (s *suite) open(t *testing.T, root string) layers.Snapshotter {
	sn := s.factory(t, root)
	t.Cleanup(func() { assert.NoError(t, sn.Close()) })
	return sn
}

func (s *suite) new(t *testing.T) layers.Snapshotter { return s.open(t, t.TempDir()) }

// apply extracts layer into the active snapshot key.
func (s *suite) apply(t *testing.T, sn layers.Snapshotter, key string, layer []byte) {
	t.Helper()
	opts := s.opts.Apply
	if a, ok := sn.(LayerApplier); ok {
		_, err := a.ApplyLayer(t.Context(), key, bytes.NewReader(layer), &opts)
		require.NoError(t, err)
		return
	}
	ms, err := sn.Mounts(t.Context(), key)
	require.NoError(t, err)
	dir, release := Contents(t, ms)
	defer release()
	_, err = layers.Apply(t.Context(), dir, bytes.NewReader(layer), &opts)
	require.NoError(t, err)
}

// commitLayer prepares key on parent, applies layer and commits it as name.
func (s *suite) commitLayer(t *testing.T, sn layers.Snapshotter, name, parent string, layer []byte) {
	t.Helper()
	key := name + "-active"
	_, err := sn.Prepare(t.Context(), key, parent)
	require.NoError(t, err)
	s.apply(t, sn, key, layer)
	require.NoError(t, sn.Commit(t.Context(), name, key))
}

// viewTree describes the tree of a view on name.
func (s *suite) viewTree(t *testing.T, sn layers.Snapshotter, name string) []string {
	t.Helper()
	key := fmt.Sprintf("view-%s-%d", name, viewSeq.next())
	ms, err := sn.View(t.Context(), key, name)
	require.NoError(t, err)
	dir, release := Contents(t, ms)
	tree := Tree(t, dir, TreeOptions{NoOwners: s.opts.Apply.Unprivileged, NoTimes: true, NoRootMeta: true})
	release()
	require.NoError(t, sn.Remove(t.Context(), key))
	return tree
}

type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) next() int { c.mu.Lock(); defer c.mu.Unlock(); c.n++; return c.n }

var viewSeq counter

func names(t *testing.T, sn layers.Snapshotter) map[string]layers.SnapshotInfo {
	out := map[string]layers.SnapshotInfo{}
	require.NoError(t, sn.Walk(t.Context(), func(_ context.Context, info layers.SnapshotInfo) error {
		out[info.Name] = info
		return nil
	}))
	return out
}

func (s *suite) lifecycle(t *testing.T) {
	sn := s.new(t)
	ctx := t.Context()
	ms, err := sn.Prepare(ctx, "base-active", "")
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	info, err := sn.Stat(ctx, "base-active")
	require.NoError(t, err)
	assert.Equal(t, layers.KindActive, info.Kind)
	assert.Equal(t, "", info.Parent)
	got, err := sn.Mounts(ctx, "base-active")
	require.NoError(t, err)
	assert.Equal(t, ms, got, "Mounts repeats what Prepare returned")

	s.apply(t, sn, "base-active", Tar(t, File("hello", "world", 0o644)))
	require.NoError(t, sn.Commit(ctx, "base", "base-active"))
	_, err = sn.Stat(ctx, "base-active")
	assert.ErrorIs(t, err, fs.ErrNotExist, "the key is gone after Commit")
	info, err = sn.Stat(ctx, "base")
	require.NoError(t, err)
	assert.Equal(t, layers.KindCommitted, info.Kind)
	_, err = sn.Mounts(ctx, "base")
	assert.ErrorIs(t, err, fs.ErrNotExist, "committed snapshots have no mounts")

	_, err = sn.Prepare(ctx, "child", "base")
	require.NoError(t, err)
	info, err = sn.Stat(ctx, "child")
	require.NoError(t, err)
	assert.Equal(t, "base", info.Parent)
	all := names(t, sn)
	assert.Len(t, all, 2)
	assert.Equal(t, layers.KindActive, all["child"].Kind)
	require.NoError(t, sn.Remove(ctx, "child"))
	require.NoError(t, sn.Remove(ctx, "base"))
	assert.Empty(t, names(t, sn))
}

func (s *suite) errors(t *testing.T) {
	sn := s.new(t)
	ctx := t.Context()
	_, err := sn.Prepare(ctx, "a", "")
	require.NoError(t, err)
	_, err = sn.Prepare(ctx, "a", "")
	assert.ErrorIs(t, err, fs.ErrExist, "duplicate key")
	_, err = sn.Prepare(ctx, "b", "missing")
	assert.ErrorIs(t, err, fs.ErrNotExist, "missing parent")
	_, err = sn.Prepare(ctx, "b", "a")
	assert.ErrorIs(t, err, fs.ErrNotExist, "an active snapshot cannot be a parent")
	_, err = sn.View(ctx, "v", "")
	require.NoError(t, err)
	assert.ErrorIs(t, sn.Commit(ctx, "vc", "v"), fs.ErrNotExist, "views cannot be committed")
	require.NoError(t, sn.Commit(ctx, "ac", "a"))
	_, err = sn.Prepare(ctx, "a2", "")
	require.NoError(t, err)
	assert.ErrorIs(t, sn.Commit(ctx, "ac", "a2"), fs.ErrExist, "commit name taken")
	assert.ErrorIs(t, sn.Remove(ctx, "nope"), fs.ErrNotExist)
	_, err = sn.Stat(ctx, "nope")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = sn.Prepare(ctx, "", "")
	assert.Error(t, err, "empty key")
	after := names(t, sn)
	assert.Len(t, after, 3, "failed calls left nothing behind")
}

func (s *suite) removeParent(t *testing.T) {
	sn := s.new(t)
	ctx := t.Context()
	s.commitLayer(t, sn, "p", "", Tar(t, File("f", "x", 0o644)))
	_, err := sn.Prepare(ctx, "c", "p")
	require.NoError(t, err)
	_, err = sn.View(ctx, "v", "p")
	require.NoError(t, err)
	err = sn.Remove(ctx, "p")
	require.ErrorIs(t, err, layers.ErrHasChildren)
	require.NoError(t, sn.Remove(ctx, "c"))
	require.ErrorIs(t, sn.Remove(ctx, "p"), layers.ErrHasChildren, "a view is a child too")
	require.NoError(t, sn.Remove(ctx, "v"))
	require.NoError(t, sn.Remove(ctx, "p"))
}

func (s *suite) labels(t *testing.T) {
	sn := s.new(t)
	ctx := t.Context()
	_, err := sn.Prepare(ctx, "a", "", layers.WithLabels(map[string]string{"x": "1"}))
	require.NoError(t, err)
	info, err := sn.Stat(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"x": "1"}, info.Labels)
	info.Labels = map[string]string{"y": "2"}
	got, err := sn.Update(ctx, info, "labels.y")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"x": "1", "y": "2"}, got.Labels)
	got, err = sn.Update(ctx, layers.SnapshotInfo{Name: "a", Labels: map[string]string{"z": "3"}})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"z": "3"}, got.Labels)
	_, err = sn.Update(ctx, layers.SnapshotInfo{Name: "a", Parent: "x"}, "parent")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	require.NoError(t, sn.Commit(ctx, "b", "a", layers.WithLabels(map[string]string{"w": "4"})))
	info, err = sn.Stat(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"z": "3", "w": "4"}, info.Labels)
}

func (s *suite) persistence(t *testing.T) {
	root := t.TempDir()
	sn := s.factory(t, root)
	s.commitLayer(t, sn, "base", "", Tar(t, File("a", "1", 0o644)))
	_, err := sn.Prepare(t.Context(), "work", "base")
	require.NoError(t, err)
	before := names(t, sn)
	require.NoError(t, sn.Close())
	require.NoError(t, sn.Close(), "closing twice is harmless")

	again := s.open(t, root)
	after := names(t, again)
	require.Equal(t, len(before), len(after))
	for k, v := range before {
		assert.Equal(t, v.Kind, after[k].Kind, k)
		assert.Equal(t, v.Parent, after[k].Parent, k)
	}
	assert.Contains(t, stripOwners(s.viewTree(t, again, "base")), "a file 644 size=1 sha=6b86b273ff34")
	require.ErrorIs(t, again.Remove(t.Context(), "base"), layers.ErrHasChildren, "a new process sees the children")
}

// threeLayers stacks three layers with whiteouts and an opaque directory
// and checks the merged tree at each level.
func (s *suite) threeLayers(t *testing.T) {
	sn := s.new(t)
	s.commitLayer(t, sn, "l1", "", Tar(t,
		Dir("etc"), File("etc/a", "a1", 0o644), File("etc/b", "b1", 0o644),
		Dir("opt"), Dir("opt/sub"), File("opt/sub/x", "x", 0o644), File("opt/y", "y", 0o644),
		Dir("var"), File("var/log", "l", 0o644)))
	s.commitLayer(t, sn, "l2", "l1", Tar(t,
		Dir("etc"), Whiteout("etc/a"), File("etc/c", "c2", 0o644),
		Dir("opt"), Opaque("opt"), File("opt/new", "n", 0o644),
		Whiteout("var")))
	s.commitLayer(t, sn, "l3", "l2", Tar(t,
		Dir("etc"), File("etc/a", "a3", 0o600), Whiteout("etc/b"),
		Dir("var"), File("var/again", "v", 0o644)))

	assert.Equal(t, []string{
		". dir 755", "etc dir 755", "etc/a file 644 size=2 sha=f55ff16f66f4", "etc/b file 644 size=2 sha=7dc96f776c84",
		"opt dir 755", "opt/sub dir 755", "opt/sub/x file 644 size=1 sha=2d711642b726",
		"opt/y file 644 size=1 sha=a1fce4363854", "var dir 755", "var/log file 644 size=1 sha=acac86c0e609",
	}, stripOwners(s.viewTree(t, sn, "l1")))
	assert.Equal(t, []string{
		". dir 755", "etc dir 755", "etc/b file 644 size=2 sha=7dc96f776c84", "etc/c file 644 size=2 sha=9c0abe51c6e6",
		"opt dir 755", "opt/new file 644 size=1 sha=1b16b1df538b",
	}, stripOwners(s.viewTree(t, sn, "l2")))
	assert.Equal(t, []string{
		". dir 755", "etc dir 755", "etc/a file 600 size=2 sha=f46dd28a5499", "etc/c file 644 size=2 sha=9c0abe51c6e6",
		"opt dir 755", "opt/new file 644 size=1 sha=1b16b1df538b",
		"var dir 755", "var/again file 644 size=1 sha=4c94485e0c21",
	}, stripOwners(s.viewTree(t, sn, "l3")))
}

// stripOwners drops " 0:0" so expectations hold with and without root.
func stripOwners(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(bytes.ReplaceAll([]byte(l), []byte(" 0:0"), nil))
	}
	return out
}

func (s *suite) view(t *testing.T) {
	sn := s.new(t)
	s.commitLayer(t, sn, "base", "", Tar(t, File("f", "base", 0o644)))
	ms, err := sn.View(t.Context(), "v", "base")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.True(t, ms[0].ReadOnly(), "a view is read-only")
	_, err = sn.Prepare(t.Context(), "w", "base")
	require.NoError(t, err)
	wms, err := sn.Mounts(t.Context(), "w")
	require.NoError(t, err)
	wdir, release := Contents(t, wms)
	require.NoError(t, os.WriteFile(filepath.Join(wdir, "f"), []byte("changed"), 0o644))
	release()
	vdir, vrelease := Contents(t, ms)
	defer vrelease()
	data, err := os.ReadFile(filepath.Join(vdir, "f"))
	require.NoError(t, err)
	assert.Equal(t, "base", string(data), "a sibling's writes do not show in the view")
}

// diffRoundTrip changes an active snapshot, diffs it, and applies the diff
// on a fresh snapshot of the same parent: both trees must match.
func (s *suite) diffRoundTrip(t *testing.T) {
	sn := s.new(t)
	d, ok := sn.(Differ)
	if !ok {
		t.Skip("snapshotter has no Diff")
	}
	ctx := t.Context()
	s.commitLayer(t, sn, "base", "", Tar(t, Dir("d"), File("d/keep", "k", 0o644), File("d/del", "x", 0o644),
		Dir("gone"), File("gone/f", "f", 0o644), File("mod", "old", 0o644)))
	_, err := sn.Prepare(ctx, "work", "base")
	require.NoError(t, err)
	ms, err := sn.Mounts(ctx, "work")
	require.NoError(t, err)
	dir, release := Contents(t, ms)
	require.NoError(t, os.Remove(filepath.Join(dir, "d/del")))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "gone")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mod"), []byte("new content"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "added/deep"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "added/deep/file"), []byte("+"), 0o644))
	release()

	var layer bytes.Buffer
	diffID, err := d.Diff(ctx, "work", &layer, nil)
	require.NoError(t, err)
	assert.Equal(t, digest.FromBytes(layer.Bytes()), diffID)
	require.NoError(t, sn.Commit(ctx, "changed", "work"))
	s.commitLayer(t, sn, "replayed", "base", layer.Bytes())
	want := s.viewTree(t, sn, "changed")
	assert.Equal(t, want, s.viewTree(t, sn, "replayed"))
	assert.NotContains(t, want, "gone dir 755")
}

func (s *suite) usage(t *testing.T) {
	sn := s.new(t)
	big := string(bytes.Repeat([]byte("u"), 1<<20))
	s.commitLayer(t, sn, "base", "", Tar(t, File("big", big, 0o644), File("small", "s", 0o644)))
	u, err := sn.Usage(t.Context(), "base")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, u.Size, int64(1<<20))
	assert.GreaterOrEqual(t, u.Inodes, int64(3))
	_, err = sn.Usage(t.Context(), "missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func (s *suite) concurrent(t *testing.T) {
	root := t.TempDir()
	a, b := s.open(t, root), s.open(t, root) // two handles, as two processes would have
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		for j, sn := range []layers.Snapshotter{a, b} {
			wg.Go(func() {
				_, errs[2*i+j] = sn.Prepare(context.Background(), fmt.Sprintf("k%d", i), "")
			})
		}
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.ErrorIs(t, err, fs.ErrExist)
		}
	}
	assert.Equal(t, n, won, "each key is created exactly once")
	all := names(t, a)
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}, keys)
}

// deepChain stacks many layers, deeper than one page of overlay options
// allows with absolute paths, and reads a file from the bottom.
func (s *suite) deepChain(t *testing.T) {
	depth := s.opts.DeepChain
	if depth == 0 {
		depth = 150
	}
	sn := s.new(t)
	parent := ""
	for i := range depth {
		name := fmt.Sprintf("l%03d", i)
		s.commitLayer(t, sn, name, parent, Tar(t, File(fmt.Sprintf("f%03d", i), name, 0o644)))
		parent = name
	}
	_, err := sn.Prepare(t.Context(), "top", parent)
	require.NoError(t, err)
	ms, err := sn.Mounts(t.Context(), "top")
	require.NoError(t, err)
	dir, release := Contents(t, ms)
	defer release()
	data, err := os.ReadFile(filepath.Join(dir, "f000"))
	require.NoError(t, err)
	assert.Equal(t, "l000", string(data))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, depth)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "top-file"), []byte("w"), 0o644))
}
