package berth_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
)

// benchLayer is a layer tar of files totalling about size bytes, half
// random bytes and half repeated text, so it gzips to about 60%.
func benchLayer(b *testing.B, seed uint64, size int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	const fileSize = 512 << 10
	text := bytes.Repeat([]byte("berth benchmark layer content, fairly compressible. "), fileSize/2/52+1)[:fileSize/2]
	for i := 0; i*fileSize < size; i++ {
		data := make([]byte, fileSize)
		for j := 0; j < fileSize/2; j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8; k++ {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		copy(data[fileSize/2:], text)
		require.NoError(b, tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("data/%d/file%03d", seed, i), Mode: 0o644, Size: fileSize, ModTime: testCreated}))
		_, err := tw.Write(data)
		require.NoError(b, err)
	}
	require.NoError(b, tw.Close())
	return buf.Bytes()
}

// benchFixture is a store holding a ~100 MB image (4 gzip layers of
// 25 MB uncompressed) named bench:1, and that image exported as an
// oci-archive and as a docker-archive.
type benchFixture struct {
	store                 *berth.ImageStore
	ociArchive, dockerArc string
	uncompressed          int64
}

func newBenchFixture(b *testing.B) *benchFixture {
	dir := b.TempDir()
	s, err := berth.OpenImageStore(b.Context(), filepath.Join(dir, "store"))
	require.NoError(b, err)
	w, err := s.NewWriter(b.Context())
	require.NoError(b, err)
	var descs []ocispec.Descriptor
	var diffIDs []digest.Digest
	f := &benchFixture{store: s}
	for i := range 4 {
		l := benchLayer(b, uint64(i+1), 25<<20)
		f.uncompressed += int64(len(l))
		d, diffID, err := w.WriteLayer(b.Context(), bytes.NewReader(l), layers.Gzip)
		require.NoError(b, err)
		descs, diffIDs = append(descs, d), append(diffIDs, diffID)
	}
	img, err := w.WriteImage(b.Context(), testConfig(diffIDs, testCreated), descs, nil)
	require.NoError(b, err)
	require.NoError(b, w.Close())
	require.NoError(b, s.Tag(b.Context(), img.Digest().String(), "bench:1"))
	f.ociArchive = filepath.Join(dir, "oci.tar")
	f.dockerArc = filepath.Join(dir, "docker.tar")
	for path, format := range map[string]berth.ArchiveFormat{f.ociArchive: berth.OCIArchive, f.dockerArc: berth.DockerArchive} {
		out, err := os.Create(path)
		require.NoError(b, err)
		require.NoError(b, s.Export(b.Context(), out, []string{"bench:1"}, &berth.ExportOptions{Format: format}))
		require.NoError(b, out.Close())
		fi, err := os.Stat(path)
		require.NoError(b, err)
		b.Logf("%s: %d bytes (%d bytes of layers uncompressed)", format, fi.Size(), f.uncompressed)
	}
	return f
}

func skopeo(b *testing.B, args ...string) {
	out, err := exec.CommandContext(b.Context(), "skopeo", append([]string{"copy", "--quiet"}, args...)...).CombinedOutput()
	require.NoError(b, err, "skopeo %v: %s", args, out)
}

// benchEach runs op b.N times, each with a fresh path under a temporary
// directory, which is removed outside the timed part.
func benchEach(b *testing.B, bytes int64, op func(out string)) {
	b.SetBytes(bytes)
	for b.Loop() {
		b.StopTimer()
		dir, err := os.MkdirTemp("", "berth-bench-")
		require.NoError(b, err)
		b.StartTimer()
		op(filepath.Join(dir, "out"))
		b.StopTimer()
		require.NoError(b, os.RemoveAll(dir))
		b.StartTimer()
	}
}

// BenchmarkImageArchives compares importing and exporting a ~100 MB image
// with "skopeo copy" doing the same, in one run:
//
//	go test -run '^$' -bench BenchmarkImageArchives -benchtime 5x .
func BenchmarkImageArchives(b *testing.B) {
	testutil.RequireFeature(b, "tool:skopeo")
	f := newBenchFixture(b)
	ctx := b.Context()
	src := "oci:" + f.store.Dir() + ":docker.io/library/bench:1"
	open := func(path string) *os.File {
		r, err := os.Open(path)
		require.NoError(b, err)
		return r
	}
	create := func(path string) *os.File {
		w, err := os.Create(path)
		require.NoError(b, err)
		return w
	}
	cases := []struct {
		name   string
		berth  func(out string)
		skopeo []string // args; OUT is replaced by the output path
	}{
		{"import-oci-archive", func(out string) {
			s, err := berth.OpenImageStore(ctx, out)
			require.NoError(b, err)
			r := open(f.ociArchive)
			defer r.Close()
			_, err = s.Import(ctx, r, nil)
			require.NoError(b, err)
		}, []string{"oci-archive:" + f.ociArchive + ":docker.io/library/bench:1", "oci:OUT:bench"}},
		{"import-docker-archive", func(out string) {
			s, err := berth.OpenImageStore(ctx, out)
			require.NoError(b, err)
			r := open(f.dockerArc)
			defer r.Close()
			_, err = s.Import(ctx, r, nil)
			require.NoError(b, err)
		}, []string{"--dest-oci-accept-uncompressed-layers", "docker-archive:" + f.dockerArc, "oci:OUT:bench"}},
		{"export-oci-archive", func(out string) {
			w := create(out)
			require.NoError(b, f.store.Export(ctx, w, []string{"bench:1"}, nil))
			require.NoError(b, w.Close())
		}, []string{src, "oci-archive:OUT:docker.io/library/bench:1"}},
		{"export-docker-archive", func(out string) {
			w := create(out)
			require.NoError(b, f.store.Export(ctx, w, []string{"bench:1"}, &berth.ExportOptions{Format: berth.DockerArchive}))
			require.NoError(b, w.Close())
		}, []string{src, "docker-archive:OUT:bench:1"}},
		{"export-layout", func(out string) {
			require.NoError(b, f.store.ExportLayout(ctx, out, []string{"bench:1"}))
		}, []string{src, "oci:OUT:bench"}},
	}
	for _, c := range cases {
		b.Run(c.name+"/berth", func(b *testing.B) { benchEach(b, f.uncompressed, c.berth) })
		b.Run(c.name+"/skopeo", func(b *testing.B) {
			benchEach(b, f.uncompressed, func(out string) {
				args := make([]string, len(c.skopeo))
				for i, a := range c.skopeo {
					args[i] = replaceOut(a, out)
				}
				skopeo(b, args...)
			})
		})
	}
}

func replaceOut(arg, out string) string {
	return string(bytes.ReplaceAll([]byte(arg), []byte("OUT"), []byte(out)))
}
