package berth_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// twoImages fills a store with two images sharing a base layer: app:v1
// (also named localhost:5000/app:v1) and a nameless one.
func twoImages(t *testing.T) (*berth.ImageStore, *berth.Image, *berth.Image) {
	s := newStore(t)
	a := writeImage(t, s, fullConfig, [][]byte{baseLayer(t), appLayer(t, "v1")}, "app:v1", "localhost:5000/app:v1")
	b := writeImage(t, s, nil, [][]byte{baseLayer(t), appLayer(t, "nameless")})
	return s, a, b
}

func export(t *testing.T, s *berth.ImageStore, f berth.ArchiveFormat, refs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, s.Export(t.Context(), &buf, refs, &berth.ExportOptions{Format: f}))
	return buf.Bytes()
}

func gzipped(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// onlyReader hides every method but Read, so the input must be spooled.
type onlyReader struct{ io.Reader }

func infoNames(infos []berth.ImageInfo) map[digest.Digest][]string {
	out := map[digest.Digest][]string{}
	for _, i := range infos {
		out[i.Image.Digest()] = i.Names
	}
	return out
}

func TestOCIArchiveRoundTrip(t *testing.T) {
	s, a, b := twoImages(t)
	data := export(t, s, berth.OCIArchive, "app:v1", "localhost:5000/app:v1", b.ID().String())
	assert.Equal(t, data, export(t, s, berth.OCIArchive, "app:v1", "localhost:5000/app:v1", b.ID().String()),
		"exports are deterministic")

	inputs := map[string]func() io.Reader{
		"seekable": func() io.Reader { return bytes.NewReader(data) },
		"stream":   func() io.Reader { return onlyReader{bytes.NewReader(data)} },
		"gzip":     func() io.Reader { return bytes.NewReader(gzipped(t, data)) },
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			dst := newStore(t)
			infos, err := dst.Import(t.Context(), in(), nil)
			require.NoError(t, err)
			assert.Equal(t, map[digest.Digest][]string{
				a.Digest(): {"docker.io/library/app:v1", "localhost:5000/app:v1"},
				b.Digest(): nil,
			}, infoNames(infos))
			got, err := dst.Get(t.Context(), "app:v1")
			require.NoError(t, err)
			assert.Equal(t, a.Config(), got.Config())
			chain, err := got.Unpack(t.Context(), newCopy(t))
			require.NoError(t, err)
			assert.Equal(t, a.ChainID().String(), chain)
			leftovers, err := filepath.Glob(filepath.Join(dst.Dir(), ".berth-import-*"))
			require.NoError(t, err)
			assert.Empty(t, leftovers, "the spooled copy is removed")
		})
	}
}

func TestLayoutRoundTripAndSkopeoStyleNames(t *testing.T) {
	s, a, b := twoImages(t)
	dir := filepath.Join(t.TempDir(), "layout")
	require.NoError(t, s.ExportLayout(t.Context(), dir, []string{"app:v1"}))
	require.NoError(t, s.ExportLayout(t.Context(), dir, []string{b.ID().Encoded()[:12]}), "a second export adds to the layout")
	idx, err := layers.Layout(dir).Index(t.Context())
	require.NoError(t, err)
	require.Len(t, idx.Manifests, 2)
	assert.Equal(t, "docker.io/library/app:v1", idx.Manifests[0].Annotations[ocispec.AnnotationRefName])
	assert.Nil(t, idx.Manifests[1].Annotations)

	// A bare tag (as umoci writes) gives no name; the containerd annotation
	// gives the full one.
	require.NoError(t, layers.Layout(dir).UpdateIndex(t.Context(), func(idx *ocispec.Index) error {
		idx.Manifests[0].Annotations = map[string]string{ocispec.AnnotationRefName: "v1"}
		idx.Manifests[1].Annotations = map[string]string{ocispec.AnnotationRefName: "latest",
			"io.containerd.image.name": "registry.example/team/b:latest"}
		return nil
	}))
	dst := newStore(t)
	infos, err := dst.ImportLayout(t.Context(), dir, nil)
	require.NoError(t, err)
	assert.Equal(t, map[digest.Digest][]string{a.Digest(): nil, b.Digest(): {"registry.example/team/b:latest"}}, infoNames(infos))

	infos, err = dst.ImportLayout(t.Context(), dir, &berth.ImportOptions{Names: []string{"x"}})
	require.ErrorIs(t, err, fs.ErrInvalid, "names need a single image")
	assert.Nil(t, infos)
}

func TestImportLayoutStaysInsideTheDirectory(t *testing.T) {
	s, a, _ := twoImages(t)
	dir := filepath.Join(t.TempDir(), "layout")
	require.NoError(t, s.ExportLayout(t.Context(), dir, []string{"app:v1"}))
	// Move a layer out and leave a symlink to it: even with the right
	// content, a blob outside the layout is not read.
	blob := filepath.Join(dir, "blobs", "sha256", a.Layers()[1].Digest.Encoded())
	outside := filepath.Join(t.TempDir(), "outside")
	require.NoError(t, os.Rename(blob, outside))
	require.NoError(t, os.Symlink(outside, blob))
	dst := newStore(t)
	_, err := dst.ImportLayout(t.Context(), dir, nil)
	require.Error(t, err)
	assert.False(t, blobExists(t, dst, a.Layers()[1].Digest))

	require.NoError(t, os.Remove(blob))
	require.NoError(t, os.Symlink("../../../outside-relative", blob))
	_, err = dst.ImportLayout(t.Context(), dir, nil)
	require.Error(t, err)
}

func TestDockerArchiveRoundTrip(t *testing.T) {
	s, a, _ := twoImages(t)
	data := export(t, s, berth.DockerArchive, "app:v1", "localhost:5000/app:v1")
	members := map[string]*tar.Header{}
	contents := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		members[h.Name] = h
		contents[h.Name], err = io.ReadAll(tr)
		require.NoError(t, err)
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	require.NoError(t, json.Unmarshal(contents["manifest.json"], &manifest))
	require.Len(t, manifest, 1)
	assert.Equal(t, a.ID().Encoded()+".json", manifest[0].Config)
	assert.Equal(t, []string{"app:v1", "localhost:5000/app:v1"}, manifest[0].RepoTags)
	for i, d := range a.DiffIDs() {
		assert.Equal(t, d.Encoded()+".tar", manifest[0].Layers[i])
		assert.Equal(t, d, digest.FromBytes(contents[manifest[0].Layers[i]]), "layers are stored uncompressed")
	}
	var repos map[string]map[string]string
	require.NoError(t, json.Unmarshal(contents["repositories"], &repos))
	top := repos["app"]["v1"]
	require.NotEmpty(t, top)
	assert.Equal(t, top, repos["localhost:5000/app"]["v1"])
	assert.Equal(t, "1.0", string(contents[top+"/VERSION"]))
	assert.Equal(t, byte(tar.TypeSymlink), members[top+"/layer.tar"].Typeflag)
	assert.Equal(t, "../"+manifest[0].Layers[1], members[top+"/layer.tar"].Linkname)

	leftovers, err := filepath.Glob(filepath.Join(s.Dir(), ".berth-export-*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers, "decompressed layers are removed")

	dst := newStore(t)
	infos, err := dst.Import(t.Context(), bytes.NewReader(data), nil)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	got := infos[0].Image
	assert.Equal(t, a.ID(), got.ID(), "the config, and so the image ID, is kept")
	assert.Equal(t, a.DiffIDs(), got.DiffIDs())
	assert.Equal(t, []string{"docker.io/library/app:v1", "localhost:5000/app:v1"}, infos[0].Names)
	for _, l := range got.Layers() {
		assert.Equal(t, ocispec.MediaTypeImageLayer, l.MediaType)
	}
	_, err = got.Unpack(t.Context(), newCopy(t))
	require.NoError(t, err)

	again, err := dst.Import(t.Context(), bytes.NewReader(data), nil)
	require.NoError(t, err)
	assert.Equal(t, got.Digest(), again[0].Image.Digest(), "importing twice gives the same image")
}

// tarOf builds an archive of the given members.
func tarOf(t *testing.T, files map[string][]byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}))
		_, err := tw.Write(files[n])
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

// untar reads an archive into a map of regular members.
func untar(t *testing.T, data []byte) map[string][]byte {
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		if h.Typeflag == tar.TypeReg {
			out[h.Name], err = io.ReadAll(tr)
			require.NoError(t, err)
		}
	}
}

func TestImportRejectsBadArchives(t *testing.T) {
	s, a, _ := twoImages(t)
	oci := untar(t, export(t, s, berth.OCIArchive, "app:v1"))
	docker := untar(t, export(t, s, berth.DockerArchive, "app:v1"))
	corruptLayer := func(files map[string][]byte, name string) map[string][]byte {
		out := map[string][]byte{}
		for k, v := range files {
			out[k] = v
		}
		b := append([]byte(nil), out[name]...)
		b[len(b)-1] ^= 1
		out[name] = b
		return out
	}
	ociLayer := "blobs/sha256/" + a.Layers()[1].Digest.Encoded()
	dockerLayer := a.DiffIDs()[1].Encoded() + ".tar"

	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"not an image archive", tarOf(t, map[string][]byte{"etc/passwd": []byte("root")}), errors.ErrUnsupported},
		{"not a tar", []byte("hello, this is not a tar archive at all......"), nil},
		{"oci blob corrupt", tarOf(t, corruptLayer(oci, ociLayer)), layers.ErrDigestMismatch},
		{"oci blob missing", tarOf(t, func() map[string][]byte { m := corruptLayer(oci, ociLayer); delete(m, ociLayer); return m }()), fs.ErrNotExist},
		{"docker layer corrupt", tarOf(t, corruptLayer(docker, dockerLayer)), layers.ErrDigestMismatch},
		{"docker manifest garbage", tarOf(t, map[string][]byte{"manifest.json": []byte("{")}), fs.ErrInvalid},
		{"oci layout version", tarOf(t, map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"2.0.0"}`), "index.json": oci["index.json"]}), errors.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := newStore(t)
			_, err := dst.Import(t.Context(), bytes.NewReader(tt.data), nil)
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			list, err := dst.List(t.Context())
			require.NoError(t, err)
			assert.Empty(t, list, "nothing is registered")
		})
	}
}

func TestImportPicksPlatformFromIndex(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	l, err := layers.NewLayout(ctx, dir)
	require.NoError(t, err)
	entries := map[string]ocispec.Descriptor{}
	var order []ocispec.Platform
	for _, p := range []ocispec.Platform{{OS: "linux", Architecture: "arm", Variant: "v6"}, {OS: "linux", Architecture: runtime.GOARCH},
		{OS: "linux", Architecture: "arm", Variant: "v7"}} {
		ld, diffID, err := layers.PutLayer(ctx, l, bytes.NewReader(uniqueLayer(t, len(order))), layers.Gzip)
		require.NoError(t, err)
		cfg := testConfig([]digest.Digest{diffID}, testCreated)
		cfg.Platform = p
		entries[p.OS+"/"+p.Architecture+"/"+p.Variant] = putManifest(t, l, ocispec.MediaTypeImageConfig, mustJSON(t, cfg), []ocispec.Descriptor{ld})
		order = append(order, p)
	}
	idx := putIndex(t, l, entries, order)
	require.NoError(t, l.Tag(ctx, "registry.example/multi:1", idx))

	s := newStore(t)
	infos, err := s.ImportLayout(ctx, dir, nil)
	require.NoError(t, err)
	require.Len(t, infos, 1)
	assert.Equal(t, runtime.GOARCH, infos[0].Image.Platform().Architecture)
	assert.Equal(t, []string{"registry.example/multi:1"}, infos[0].Names)

	arm := &ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}
	infos, err = s.ImportLayout(ctx, dir, &berth.ImportOptions{Platform: arm, Names: []string{"multi:arm"}})
	require.NoError(t, err)
	assert.Equal(t, entries["linux/arm/v7"].Digest, infos[0].Image.Digest())
	infos, err = s.ImportLayout(ctx, dir, &berth.ImportOptions{Platform: &ocispec.Platform{OS: "linux", Architecture: "armhf"}, Names: []string{"multi:armhf"}})
	require.NoError(t, err)
	assert.Equal(t, entries["linux/arm/v7"].Digest, infos[0].Image.Digest(), "armhf is arm/v7")
	infos, err = s.ImportLayout(ctx, dir, &berth.ImportOptions{Platform: &ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"}})
	require.NoError(t, err)
	assert.Equal(t, entries["linux/arm/v6"].Digest, infos[0].Image.Digest(), "a v6 host cannot run v7")

	_, err = s.ImportLayout(ctx, dir, &berth.ImportOptions{Platform: &ocispec.Platform{OS: "linux", Architecture: "riscv64"}})
	var pe *berth.PlatformError
	require.ErrorAs(t, err, &pe)
	assert.Contains(t, err.Error(), "no manifest for platform linux/riscv64 (available: linux/arm/v6, linux/"+runtime.GOARCH+", linux/arm/v7)")
}

func TestImportRootfs(t *testing.T) {
	s := newStore(t)
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	rootfs := lt.Tar(t, lt.Dir("bin"), lt.File("bin/app", "binary", 0o755), lt.Symlink("bin/sh", "app"))
	opts := &berth.RootfsOptions{
		Names:   []string{"imported:1", "imported:latest"},
		Config:  ocispec.ImageConfig{Env: []string{"PATH=/bin", "HOME=/root"}},
		Created: &created,
		Author:  "me",
		Comment: "from a tarball",
		Changes: []string{
			`ENV PATH=$PATH:/usr/bin GREETING="hello world"`,
			`CMD ["/bin/app", "serve"]`,
			`EXPOSE 80 8000-8001/udp`,
			`LABEL org.example.version=1 "with space"=yes`,
			`WORKDIR /srv`, `WORKDIR data`,
			`USER 1000:1000`,
			`VOLUME ["/srv/data", "/cache"]`,
			`STOPSIGNAL SIGINT`,
			`ENTRYPOINT /bin/sh`,
		},
		Compression: layers.Gzip,
	}
	info, err := s.ImportRootfs(t.Context(), bytes.NewReader(gzipped(t, rootfs)), opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"docker.io/library/imported:1", "docker.io/library/imported:latest"}, info.Names)
	cfg := info.Image.Config()
	assert.Equal(t, ocispec.ImageConfig{
		User:         "1000:1000",
		ExposedPorts: map[string]struct{}{"80/tcp": {}, "8000/udp": {}, "8001/udp": {}},
		Env:          []string{"PATH=/bin:/usr/bin", "HOME=/root", "GREETING=hello world"},
		Entrypoint:   []string{"/bin/sh", "-c", "/bin/sh"},
		Cmd:          []string{"/bin/app", "serve"},
		Volumes:      map[string]struct{}{"/srv/data": {}, "/cache": {}},
		WorkingDir:   "/srv/data",
		Labels:       map[string]string{"org.example.version": "1", "with space": "yes"},
		StopSignal:   "SIGINT",
	}, cfg.Config)
	assert.Equal(t, &created, cfg.Created)
	assert.Equal(t, "me", cfg.Author)
	assert.Equal(t, runtime.GOOS, cfg.OS)
	assert.Equal(t, runtime.GOARCH, cfg.Architecture)
	require.Len(t, cfg.History, 1)
	assert.Equal(t, "from a tarball", cfg.History[0].Comment)
	assert.Equal(t, []digest.Digest{digest.FromBytes(rootfs)}, cfg.RootFS.DiffIDs, "the tarball is the layer as it is")
	assert.Equal(t, ocispec.MediaTypeImageLayerGzip, info.Image.Layers()[0].MediaType)

	again, err := newStore(t).ImportRootfs(t.Context(), bytes.NewReader(rootfs), opts)
	require.NoError(t, err)
	assert.Equal(t, info.Image.Digest(), again.Image.Digest(), "same input and options, same digest")

	chain, err := info.Image.Unpack(t.Context(), newCopy(t))
	require.NoError(t, err)
	assert.NotEmpty(t, chain)
}

func TestImportRootfsRejects(t *testing.T) {
	tests := []struct {
		name  string
		input []byte
		opts  *berth.RootfsOptions
		want  error
	}{
		{"empty input", nil, nil, fs.ErrInvalid},
		{"not a tar", []byte(strings.Repeat("not a tar ", 100)), nil, fs.ErrInvalid},
		{"RUN is no change", lt.Tar(t, lt.Dir("x")), &berth.RootfsOptions{Changes: []string{"RUN true"}}, errors.ErrUnsupported},
		{"two instructions", lt.Tar(t, lt.Dir("x")), &berth.RootfsOptions{Changes: []string{"CMD a\nCMD b"}}, fs.ErrInvalid},
		{"bad name", lt.Tar(t, lt.Dir("x")), &berth.RootfsOptions{Names: []string{"UPPER"}}, fs.ErrInvalid},
		{"bad port", lt.Tar(t, lt.Dir("x")), &berth.RootfsOptions{Changes: []string{"EXPOSE 99999"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.ImportRootfs(t.Context(), bytes.NewReader(tt.input), tt.opts)
			require.Error(t, err)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			list, err := s.List(t.Context())
			require.NoError(t, err)
			assert.Empty(t, list)
		})
	}
}

func TestDockerExportDetectsCorruptLayers(t *testing.T) {
	s, a, _ := twoImages(t)
	p := filepath.Join(s.Dir(), "blobs", "sha256", a.Layers()[1].Digest.Encoded())
	require.NoError(t, os.Chmod(p, 0o644))
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	data[len(data)/2] ^= 0xff
	require.NoError(t, os.WriteFile(p, data, 0o644))
	for _, f := range []berth.ArchiveFormat{berth.DockerArchive, berth.OCIArchive} {
		err := s.Export(t.Context(), io.Discard, []string{"app:v1"}, &berth.ExportOptions{Format: f})
		assert.Error(t, err, "%v", f)
	}
	leftovers, err := filepath.Glob(filepath.Join(s.Dir(), ".berth-export-*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers)
}

func TestExportErrors(t *testing.T) {
	s, _, _ := twoImages(t)
	var buf bytes.Buffer
	assert.ErrorIs(t, s.Export(t.Context(), &buf, []string{"nothere"}, nil), fs.ErrNotExist)
	assert.Error(t, s.Export(t.Context(), &buf, nil, nil))
	assert.ErrorIs(t, s.Export(t.Context(), &buf, []string{"app:v1"}, &berth.ExportOptions{Format: 7}), errors.ErrUnsupported)
	assert.ErrorIs(t, s.ExportLayout(t.Context(), filepath.Join(t.TempDir(), "x"), []string{"nothere"}), fs.ErrNotExist)
}
