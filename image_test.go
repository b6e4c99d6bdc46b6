package berth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
)

func fullConfig(c *ocispec.Image) {
	c.Author = "tester"
	c.OSFeatures = []string{"f1"}
	c.Config.User = "1000:1000"
	c.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}}
	c.Config.Entrypoint = []string{"/bin/sh", "-c"}
	c.Config.Volumes = map[string]struct{}{"/data": {}}
	c.Config.WorkingDir = "/app"
	c.Config.Labels = map[string]string{"a": "b"}
	c.Config.StopSignal = "SIGINT"
	created := testCreated
	c.History = []ocispec.History{{Created: &created, CreatedBy: "test"}, {CreatedBy: "test 2"}}
}

func TestImageAccessorsReturnCopies(t *testing.T) {
	s := newStore(t)
	img := writeImage(t, s, fullConfig, [][]byte{baseLayer(t), appLayer(t, "v1")}, "app:v1")
	want := img.Config()
	wantManifest := img.Manifest()
	wantDesc := img.Descriptor()

	c := img.Config()
	*c.Created = time.Time{}
	c.OSFeatures[0] = "x"
	c.Config.ExposedPorts["1/udp"] = struct{}{}
	c.Config.Env[0] = "X=1"
	c.Config.Entrypoint[0] = "x"
	c.Config.Cmd[0] = "x"
	c.Config.Volumes["/x"] = struct{}{}
	c.Config.Labels["a"] = "changed"
	c.RootFS.DiffIDs[0] = "sha256:x"
	*c.History[0].Created = time.Time{}
	c.History[1].CreatedBy = "x"
	m := img.Manifest()
	m.Layers[0].Digest = "sha256:x"
	m.Config.Size = 1
	ls := img.Layers()
	ls[1].Size = 2
	d := img.Descriptor()
	d.Platform.OS = "plan9"
	img.DiffIDs()[0] = "sha256:y"

	assert.Equal(t, want, img.Config())
	assert.Equal(t, wantManifest, img.Manifest())
	assert.Equal(t, wantDesc, img.Descriptor())
	assert.Equal(t, wantManifest.Layers, img.Layers())
	assert.Equal(t, want.RootFS.DiffIDs, img.DiffIDs())
	assert.Equal(t, "tester", want.Author)
	assert.Equal(t, testCreated, img.Created())
	assert.Equal(t, wantManifest.Config.Digest, img.ID())
	assert.Equal(t, layers.ChainID(want.RootFS.DiffIDs), img.ChainID())
	assert.Equal(t, ocispec.Platform{OS: "linux", Architecture: "amd64", OSFeatures: []string{"f1"}}, img.Platform())
	size := wantDesc.Size + wantManifest.Config.Size + wantManifest.Layers[0].Size + wantManifest.Layers[1].Size
	assert.Equal(t, size, img.Size())
}

// putManifest stores a manifest over config bytes and layer descriptors.
func putManifest(t *testing.T, ing layers.Ingester, configMT string, config []byte, ls []ocispec.Descriptor) ocispec.Descriptor {
	t.Helper()
	ctx := t.Context()
	cd, err := ing.Ingest(ctx, bytes.NewReader(config), ocispec.Descriptor{MediaType: configMT})
	require.NoError(t, err)
	m := ocispec.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: configMT, Digest: cd.Digest, Size: cd.Size}, Layers: ls}
	md, err := layers.PutJSON(ctx, ing, ocispec.MediaTypeImageManifest, m)
	require.NoError(t, err)
	return md
}

func TestLoadImageRejects(t *testing.T) {
	ctx := t.Context()
	l, err := layers.NewLayout(ctx, t.TempDir())
	require.NoError(t, err)
	ld, diffID, err := layers.PutLayer(ctx, l, bytes.NewReader(baseLayer(t)), layers.Gzip)
	require.NoError(t, err)
	good := testConfig([]digest.Digest{diffID}, testCreated)
	twoDiffIDs := testConfig([]digest.Digest{diffID, diffID}, testCreated)
	badRootfs := good
	badRootfs.RootFS.Type = "zfs"

	tests := []struct {
		name string
		desc func() ocispec.Descriptor
		want error
	}{
		{"diffIDs do not match layers", func() ocispec.Descriptor {
			return putManifest(t, l, ocispec.MediaTypeImageConfig, mustJSON(t, twoDiffIDs), []ocispec.Descriptor{ld})
		}, fs.ErrInvalid},
		{"rootfs type", func() ocispec.Descriptor {
			return putManifest(t, l, ocispec.MediaTypeImageConfig, mustJSON(t, badRootfs), []ocispec.Descriptor{ld})
		}, fs.ErrInvalid},
		{"artifact config", func() ocispec.Descriptor {
			return putManifest(t, l, "application/vnd.example+json", []byte(`{}`), nil)
		}, errors.ErrUnsupported},
		{"config not JSON", func() ocispec.Descriptor {
			return putManifest(t, l, ocispec.MediaTypeImageConfig, []byte(`{"rootfs":`), nil)
		}, fs.ErrInvalid},
		{"missing manifest", func() ocispec.Descriptor {
			return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromString("nothing"), Size: 7}
		}, fs.ErrNotExist},
		{"manifest size lies", func() ocispec.Descriptor {
			d := putManifest(t, l, ocispec.MediaTypeImageConfig, mustJSON(t, good), []ocispec.Descriptor{ld})
			d.Size++
			return d
		}, layers.ErrDigestMismatch},
		{"unknown layer media type", func() ocispec.Descriptor {
			x := ld
			x.MediaType = "application/x-unknown"
			return putManifest(t, l, ocispec.MediaTypeImageConfig, mustJSON(t, good), []ocispec.Descriptor{x})
		}, errors.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := berth.LoadImage(ctx, l, tt.desc())
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
		})
	}
	img, err := berth.LoadImage(ctx, l, putManifest(t, l, ocispec.MediaTypeImageConfig, mustJSON(t, good), []ocispec.Descriptor{ld}))
	require.NoError(t, err)
	assert.Equal(t, []digest.Digest{diffID}, img.DiffIDs())
}

// putIndex stores an index over manifests with the given platforms.
func putIndex(t *testing.T, ing layers.Ingester, entries map[string]ocispec.Descriptor, order []ocispec.Platform) ocispec.Descriptor {
	t.Helper()
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for _, p := range order {
		d := entries[p.OS+"/"+p.Architecture+"/"+p.Variant]
		p := p
		d.Platform = &p
		idx.Manifests = append(idx.Manifests, d)
	}
	d, err := layers.PutJSON(t.Context(), ing, ocispec.MediaTypeImageIndex, idx)
	require.NoError(t, err)
	return d
}

func TestLoadImageFromIndexPicksHostPlatform(t *testing.T) {
	ctx := t.Context()
	l, err := layers.NewLayout(ctx, t.TempDir())
	require.NoError(t, err)
	mk := func(arch string) ocispec.Descriptor {
		c := testConfig(nil, testCreated)
		c.Architecture = arch
		return putManifest(t, l, ocispec.MediaTypeImageConfig, mustJSON(t, c), nil)
	}
	host := ocispec.Platform{OS: "linux", Architecture: runtime.GOARCH}
	others := []ocispec.Platform{{OS: "linux", Architecture: "s390x"}, {OS: "windows", Architecture: runtime.GOARCH}}
	entries := map[string]ocispec.Descriptor{
		"linux/s390x/": mk("s390x"), "windows/" + runtime.GOARCH + "/": mk("other"), "linux/" + runtime.GOARCH + "/": mk(runtime.GOARCH),
	}
	idx := putIndex(t, l, entries, append(others, host))
	img, err := berth.LoadImage(ctx, l, idx)
	require.NoError(t, err)
	assert.Equal(t, runtime.GOARCH, img.Platform().Architecture)
	assert.Equal(t, entries["linux/"+runtime.GOARCH+"/"].Digest, img.Digest())

	idx = putIndex(t, l, entries, others)
	_, err = berth.LoadImage(ctx, l, idx)
	require.ErrorIs(t, err, fs.ErrNotExist)
	var pe *berth.PlatformError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, others, pe.Available)
	assert.Contains(t, err.Error(), "(available: linux/s390x, windows/"+runtime.GOARCH+")")
	assert.Contains(t, err.Error(), "no manifest for platform "+runtime.GOOS+"/"+runtime.GOARCH)
}

// countingCopy is a Copy snapshotter that counts layer extractions.
type countingCopy struct {
	*layers.Copy
	applied atomic.Int32
}

func (c *countingCopy) ApplyLayer(ctx context.Context, key string, r io.Reader, opts *layers.ApplyOptions) (digest.Digest, error) {
	c.applied.Add(1)
	return c.Copy.ApplyLayer(ctx, key, r, opts)
}

func newCopy(t *testing.T) *countingCopy {
	t.Helper()
	c, err := layers.NewCopy(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &countingCopy{Copy: c}
}

// snapshotDir returns the directory of the committed snapshot name, by
// way of a view (a copy snapshotter's view is a bind of it).
func snapshotFile(t *testing.T, sn layers.Snapshotter, name, file string) (string, error) {
	t.Helper()
	key := "view-" + filepath.Base(t.Name()) + "-" + digest.FromString(name + file).Encoded()[:8]
	ms, err := sn.View(t.Context(), key, name)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sn.Remove(context.Background(), key) })
	require.Len(t, ms, 1)
	data, err := os.ReadFile(filepath.Join(ms[0].Source, file))
	return string(data), err
}

func TestUnpackAppliesEachLayerOnceAndReusesChains(t *testing.T) {
	s := newStore(t)
	sn := newCopy(t)
	v1 := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "v1")}, "app:v1")
	v2 := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "v2")}, "app:v2")

	chain, err := v1.Unpack(t.Context(), sn)
	require.NoError(t, err)
	assert.Equal(t, v1.ChainID().String(), chain)
	assert.EqualValues(t, 2, sn.applied.Load())
	got, err := snapshotFile(t, sn, chain, "app/main")
	require.NoError(t, err)
	assert.Equal(t, "v1", got)
	_, err = snapshotFile(t, sn, chain, "etc/motd")
	assert.ErrorIs(t, err, fs.ErrNotExist, "the whiteout removed the base's file")
	got, err = snapshotFile(t, sn, chain, "etc/os-release")
	require.NoError(t, err)
	assert.Equal(t, "ID=test\n", got)

	again, err := v1.Unpack(t.Context(), sn)
	require.NoError(t, err)
	assert.Equal(t, chain, again)
	assert.EqualValues(t, 2, sn.applied.Load(), "a committed chain is reused")

	chain2, err := v2.Unpack(t.Context(), sn)
	require.NoError(t, err)
	assert.EqualValues(t, 3, sn.applied.Load(), "only the layer not shared is applied")
	got, err = snapshotFile(t, sn, chain2, "app/main")
	require.NoError(t, err)
	assert.Equal(t, "v2", got)

	info, err := sn.Stat(t.Context(), chain)
	require.NoError(t, err)
	assert.Equal(t, layers.KindCommitted, info.Kind)
	assert.Equal(t, v1.DiffIDs()[1].String(), info.Labels[berth.SnapshotLabelLayer])
	assert.Equal(t, v1.DiffIDs()[0].String(), info.Parent)
}

func TestUnpackConcurrentlyAppliesOnce(t *testing.T) {
	s := newStore(t)
	sn := newCopy(t)
	img := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "v1"), uniqueLayer(t, 1)}, "app:v1")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	chains := make([]string, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			again, err := berth.LoadImage(t.Context(), s, img.Descriptor())
			if err == nil {
				chains[i], err = again.Unpack(t.Context(), sn)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range errs {
		require.NoError(t, errs[i])
		assert.Equal(t, img.ChainID().String(), chains[i])
	}
	assert.EqualValues(t, 3, sn.applied.Load())
	var names []string
	require.NoError(t, sn.Walk(t.Context(), func(_ context.Context, info layers.SnapshotInfo) error {
		names = append(names, info.Name)
		return nil
	}))
	assert.Len(t, names, 3, "no temporary snapshots are left: %v", names)
}

func TestUnpackRejectsWrongDiffID(t *testing.T) {
	s := newStore(t)
	sn := newCopy(t)
	base := writeImage(t, s, nil, [][]byte{baseLayer(t)}, "base")
	liar := writeImage(t, s, func(c *ocispec.Image) {
		c.RootFS.DiffIDs[1] = digest.FromString("not the layer")
	}, [][]byte{baseLayer(t), appLayer(t, "v1")}, "liar")

	_, err := liar.Unpack(t.Context(), sn)
	require.ErrorIs(t, err, layers.ErrDigestMismatch)
	var names []string
	require.NoError(t, sn.Walk(t.Context(), func(_ context.Context, info layers.SnapshotInfo) error {
		names = append(names, info.Name)
		return nil
	}))
	assert.Equal(t, []string{base.ChainID().String()}, names, "the good base stays; nothing half-applied remains")
}

func TestUnpackEmptyImage(t *testing.T) {
	s := newStore(t)
	img := writeImage(t, s, nil, nil, "empty")
	chain, err := img.Unpack(t.Context(), newCopy(t))
	require.NoError(t, err)
	assert.Empty(t, chain)
}
