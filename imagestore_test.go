package berth_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
)

func TestImageStoreResolvesEveryForm(t *testing.T) {
	s := newStore(t)
	img := writeImage(t, s, nil, [][]byte{baseLayer(t)}, "app", "localhost:5000/team/app:v1")
	other := writeImage(t, s, nil, [][]byte{uniqueLayer(t, 1)}, "other:1")
	id := img.ID()

	for _, ref := range []string{
		"app", "app:latest", "library/app", "docker.io/library/app:latest", "index.docker.io/library/app",
		"localhost:5000/team/app:v1",
		img.Digest().String(), "app@" + img.Digest().String(), "whatever/name@" + img.Digest().String(),
		id.String(), id.Encoded(), id.Encoded()[:12], "sha256:" + id.Encoded()[:12],
	} {
		t.Run(ref, func(t *testing.T) {
			got, err := s.Get(t.Context(), ref)
			require.NoError(t, err)
			assert.Equal(t, img.Digest(), got.Digest())
			desc, err := s.Resolve(t.Context(), ref)
			require.NoError(t, err)
			assert.Equal(t, img.Digest(), desc.Digest)
			assert.Nil(t, desc.Annotations, "names are not part of the descriptor")
		})
	}
	got, err := s.Get(t.Context(), "other:1")
	require.NoError(t, err)
	assert.Equal(t, other.Digest(), got.Digest())

	for _, tt := range []struct {
		ref  string
		want error
	}{
		{"app:v2", fs.ErrNotExist},
		{"nothere", fs.ErrNotExist},
		{digest.FromString("x").String(), fs.ErrNotExist},
		{"Upper", fs.ErrInvalid},
		{"", fs.ErrInvalid},
	} {
		_, err := s.Get(t.Context(), tt.ref)
		assert.ErrorIs(t, err, tt.want, "Get(%q)", tt.ref)
	}
}

func TestImageStoreRefusesAmbiguousIDPrefix(t *testing.T) {
	s := newStore(t)
	byFirst := map[byte]*berth.Image{}
	var a, b *berth.Image
	for i := 0; a == nil; i++ { // 17 images give two with the same first hex digit
		img := writeImage(t, s, nil, [][]byte{uniqueLayer(t, i)})
		c := img.ID().Encoded()[0]
		if prev, ok := byFirst[c]; ok {
			a, b = prev, img
		}
		byFirst[c] = img
	}
	_, err := s.Get(t.Context(), a.ID().Encoded()[:1])
	require.ErrorIs(t, err, fs.ErrInvalid)
	assert.Contains(t, err.Error(), "ambiguous")
	n := 1
	for a.ID().Encoded()[:n] == b.ID().Encoded()[:n] {
		n++
	}
	got, err := s.Get(t.Context(), a.ID().Encoded()[:n])
	require.NoError(t, err)
	assert.Equal(t, a.Digest(), got.Digest())
}

func names(t *testing.T, s *berth.ImageStore) map[digest.Digest][]string {
	t.Helper()
	list, err := s.List(t.Context())
	require.NoError(t, err)
	out := map[digest.Digest][]string{}
	for _, info := range list {
		out[info.Image.Digest()] = info.Names
	}
	return out
}

func TestImageStoreTagMovesNamesAndKeepsImages(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	a := writeImage(t, s, nil, [][]byte{uniqueLayer(t, 1)}, "app:1")
	b := writeImage(t, s, nil, [][]byte{uniqueLayer(t, 2)})
	assert.Equal(t, map[digest.Digest][]string{a.Digest(): {"docker.io/library/app:1"}, b.Digest(): nil}, names(t, s))

	require.NoError(t, s.Tag(ctx, "app:1", "localhost:5000/app"))
	require.NoError(t, s.Tag(ctx, b.ID().Encoded()[:12], "app:1"))
	assert.Equal(t, map[digest.Digest][]string{
		a.Digest(): {"localhost:5000/app:latest"},
		b.Digest(): {"docker.io/library/app:1"},
	}, names(t, s))

	require.NoError(t, s.Untag(ctx, "localhost:5000/app"))
	assert.Equal(t, map[digest.Digest][]string{a.Digest(): nil, b.Digest(): {"docker.io/library/app:1"}}, names(t, s),
		"an image whose last name goes stays, without names")
	require.NoError(t, s.Tag(ctx, a.Digest().String(), "a"))
	require.NoError(t, s.Tag(ctx, a.Digest().String(), "a"), "tagging twice is idempotent")
	assert.Equal(t, []string{"docker.io/library/a:latest"}, names(t, s)[a.Digest()])

	assert.ErrorIs(t, s.Untag(ctx, "app:2"), fs.ErrNotExist)
	assert.ErrorIs(t, s.Tag(ctx, "nothere", "x"), fs.ErrNotExist)
	assert.ErrorIs(t, s.Tag(ctx, "a", "x@"+a.Digest().String()), fs.ErrInvalid)
	assert.ErrorIs(t, s.Tag(ctx, "a", "X"), fs.ErrInvalid)

	info, err := s.Inspect(ctx, "app:1")
	require.NoError(t, err)
	assert.Equal(t, b.Digest(), info.Image.Digest())
	assert.Equal(t, []string{"docker.io/library/app:1"}, info.Names)
}

func TestImageStoreListsNewestFirst(t *testing.T) {
	s := newStore(t)
	var want []digest.Digest
	for i := range 3 {
		img := writeImage(t, s, func(c *ocispec.Image) {
			created := testCreated.Add(time.Duration(i) * time.Hour)
			c.Created = &created
		}, [][]byte{uniqueLayer(t, i)}, fmt.Sprintf("img:%d", i))
		want = append([]digest.Digest{img.Digest()}, want...)
	}
	list, err := s.List(t.Context())
	require.NoError(t, err)
	var got []digest.Digest
	for _, info := range list {
		got = append(got, info.Image.Digest())
	}
	assert.Equal(t, want, got)
}

func blobExists(t *testing.T, s *berth.ImageStore, d digest.Digest) bool {
	t.Helper()
	rc, err := s.Open(t.Context(), d)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	return true
}

func TestImageStoreRemoveKeepsSharedContent(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	v1 := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "v1")}, "app:v1", "app:stable")
	v2 := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "v2")}, "app:v2")

	_, err := s.Remove(ctx, v1.ID().String(), nil)
	require.ErrorIs(t, err, fs.ErrExist, "an image with several names is not removed by ID")
	res, err := s.Remove(ctx, "app:stable", nil)
	require.NoError(t, err)
	assert.Equal(t, berth.ImageRemoveResult{Untagged: []string{"docker.io/library/app:stable"}}, res)

	res, err = s.Remove(ctx, "app:v1", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"docker.io/library/app:v1"}, res.Untagged)
	assert.Equal(t, v1.Digest(), res.Deleted)
	assert.ElementsMatch(t, []digest.Digest{v1.Digest(), v1.ID(), v1.Layers()[1].Digest}, res.Blobs)
	assert.True(t, blobExists(t, s, v1.Layers()[0].Digest), "the base layer v2 uses stays")
	assert.False(t, blobExists(t, s, v1.Layers()[1].Digest))
	_, err = s.Get(ctx, "app:v1")
	assert.ErrorIs(t, err, fs.ErrNotExist)

	again, err := s.Get(ctx, "app:v2")
	require.NoError(t, err)
	_, err = again.Unpack(ctx, newCopy(t))
	require.NoError(t, err, "the remaining image is whole")

	require.NoError(t, s.Tag(ctx, "app:v2", "app:latest"))
	res, err = s.Remove(ctx, v2.ID().Encoded()[:12], &berth.ImageRemoveOptions{Force: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"docker.io/library/app:latest", "docker.io/library/app:v2"}, res.Untagged)
	assert.Len(t, res.Blobs, 4)
	list, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = s.Remove(ctx, "app:v2", nil)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestImageStoreGCBlobsAndSnapshots(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	sn := newCopy(t)
	keep := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "keep")}, "keep")
	drop := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "drop"), uniqueLayer(t, 7)}, "drop")
	for _, img := range []*berth.Image{keep, drop} {
		_, err := img.Unpack(ctx, sn)
		require.NoError(t, err)
	}
	// A container's snapshot on the dropped image's middle layer keeps it.
	chains := layers.ChainIDs(drop.DiffIDs())
	_, err := sn.Prepare(ctx, "container", chains[1].String())
	require.NoError(t, err)
	// A snapshot without the label is not the GC's business.
	_, err = sn.Prepare(ctx, "build-step", "")
	require.NoError(t, err)
	require.NoError(t, sn.Commit(ctx, "foreign", "build-step"))

	w, err := s.NewWriter(ctx)
	require.NoError(t, err)
	stray, _, err := w.WriteLayer(ctx, strings.NewReader(string(uniqueLayer(t, 99))), layers.Uncompressed)
	require.NoError(t, err)
	require.NoError(t, w.Close())

	_, err = s.Remove(ctx, "drop", nil)
	require.NoError(t, err)
	res, err := s.GC(ctx, &berth.ImageGCOptions{Snapshotter: sn})
	require.NoError(t, err)
	assert.Equal(t, []digest.Digest{stray.Digest}, res.Blobs)
	assert.Equal(t, stray.Size, res.Bytes)
	assert.Equal(t, []string{chains[2].String()}, res.Snapshots)

	require.NoError(t, sn.Remove(ctx, "container"))
	res, err = s.GC(ctx, &berth.ImageGCOptions{Snapshotter: sn})
	require.NoError(t, err)
	assert.Empty(t, res.Blobs)
	assert.Equal(t, []string{chains[1].String()}, res.Snapshots, "the shared base stays for the kept image")
	for _, name := range append([]string{"foreign"}, chainStrings(keep)...) {
		_, err := sn.Stat(ctx, name)
		assert.NoError(t, err, name)
	}
	for _, d := range append(keep.Layers(), keep.Manifest().Config, keep.Descriptor()) {
		assert.True(t, blobExists(t, s, d.Digest))
	}
}

func TestImageStoreGCRemovesCrashLeftovers(t *testing.T) {
	s := newStore(t)
	img := writeImage(t, s, nil, [][]byte{uniqueLayer(t, 1)}, "keep")
	leftovers := []string{filepath.Join(s.Dir(), ".berth-tmp-index.json-1234"), filepath.Join(s.Dir(), ".berth-ingest", "partial")}
	for _, p := range leftovers {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("left by a writer that crashed"), 0o644))
	}
	_, err := s.GC(t.Context(), nil)
	require.NoError(t, err)
	for _, p := range leftovers {
		_, err := os.Stat(p)
		assert.ErrorIs(t, err, fs.ErrNotExist, p)
	}
	info, err := s.Inspect(t.Context(), "keep")
	require.NoError(t, err)
	assert.Equal(t, img.Digest(), info.Image.Digest(), "the index is untouched")
}

func chainStrings(img *berth.Image) []string {
	var out []string
	for _, c := range layers.ChainIDs(img.DiffIDs()) {
		out = append(out, c.String())
	}
	return out
}

func TestImageStoreGCWaitsForWriters(t *testing.T) {
	s := newStore(t)
	w, err := s.NewWriter(t.Context())
	require.NoError(t, err)
	d, _, err := w.WriteLayer(t.Context(), strings.NewReader(string(uniqueLayer(t, 1))), layers.Gzip)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = s.GC(ctx, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded, "GC waits while a writer is open")
	assert.True(t, blobExists(t, s, d.Digest))

	done := make(chan error, 1)
	go func() {
		_, err := s.GC(t.Context(), nil)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("GC finished while a writer was open: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	img, err := w.WriteImage(t.Context(), testConfig(nil, testCreated), nil, nil)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, <-done)
	assert.False(t, blobExists(t, s, d.Digest), "the layer no image used is collected")
	assert.True(t, blobExists(t, s, img.Digest()), "the image written is registered and kept")
	_, err = w.Ingest(t.Context(), strings.NewReader("x"), ocispec.Descriptor{})
	assert.Error(t, err, "a closed writer writes nothing")
}

// TestImageStoreHelperProcess is run by TestImageStoreAcrossProcesses in
// child processes; it does nothing in a normal test run.
func TestImageStoreHelperProcess(t *testing.T) {
	dir, src := os.Getenv("BERTH_IMAGESTORE_DIR"), os.Getenv("BERTH_IMAGESTORE_SRC")
	if dir == "" {
		t.Skip("helper process only")
	}
	s, err := berth.OpenImageStore(t.Context(), dir)
	require.NoError(t, err)
	who := os.Getenv("BERTH_IMAGESTORE_WHO")
	for i := range 15 {
		require.NoError(t, s.Tag(t.Context(), src, fmt.Sprintf("p%s:%d", who, i)))
		w, err := s.NewWriter(t.Context())
		require.NoError(t, err)
		_, _, err = w.WriteLayer(t.Context(), strings.NewReader(string(uniqueLayer(t, i))), layers.Uncompressed)
		require.NoError(t, err)
		require.NoError(t, w.Close())
		_, err = s.GC(t.Context(), nil)
		require.NoError(t, err)
	}
}

func TestImageStoreAcrossProcesses(t *testing.T) {
	s := newStore(t)
	img := writeImage(t, s, nil, [][]byte{baseLayer(t)}, "src")
	const procs = 4
	errs := make(chan error, procs)
	for p := range procs {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestImageStoreHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "BERTH_IMAGESTORE_DIR="+s.Dir(), "BERTH_IMAGESTORE_SRC="+img.ID().String(),
			"BERTH_IMAGESTORE_WHO="+strconv.Itoa(p))
		go func() {
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("%w: %s", err, out)
			}
			errs <- err
		}()
	}
	for range procs {
		require.NoError(t, <-errs)
	}
	info, err := s.Inspect(t.Context(), "src")
	require.NoError(t, err)
	assert.Len(t, info.Names, 1+procs*15, "no update was lost")
	_, err = img.Unpack(t.Context(), newCopy(t))
	require.NoError(t, err, "no blob of the image was collected")
	ents, err := os.ReadDir(filepath.Join(s.Dir(), "blobs", "sha256"))
	require.NoError(t, err)
	assert.Len(t, ents, 3, "only the image's blobs remain after the GCs")
}
