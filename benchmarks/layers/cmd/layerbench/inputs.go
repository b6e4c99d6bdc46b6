package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

type inputs struct {
	tar, gz, zst, layout     string
	files                    int
	tarSize, gzSize, zstSize int64
}

// prepareInputs makes (once) the layer tar, its gzip and zstd forms, and
// an OCI layout holding the gzip layer for umoci; then reads them all so
// they are in the page cache.
func prepareInputs(ctx context.Context, work string, files int, size int64) (inputs, error) {
	in := inputs{tar: filepath.Join(work, "layer.tar"), gz: filepath.Join(work, "layer.tar.gz"),
		zst: filepath.Join(work, "layer.tar.zst"), layout: filepath.Join(work, "oci"), files: files}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return in, err
	}
	if !exists(in.tar) {
		fmt.Fprintln(os.Stderr, "generating", in.tar)
		if err := generateLayer(in.tar+".tmp", files, size); err != nil {
			return in, err
		}
		if err := os.Rename(in.tar+".tmp", in.tar); err != nil {
			return in, err
		}
	}
	if !exists(in.gz) {
		if err := shell("gzip -6 -c < " + in.tar + " > " + in.gz); err != nil {
			return in, err
		}
	}
	if !exists(in.zst) {
		if err := shell("zstd -q -3 -c < " + in.tar + " > " + in.zst); err != nil {
			return in, err
		}
	}
	if !exists(in.layout) {
		if err := writeLayout(ctx, in); err != nil {
			return in, err
		}
	}
	for _, p := range []*struct {
		path string
		size *int64
	}{{in.tar, &in.tarSize}, {in.gz, &in.gzSize}, {in.zst, &in.zstSize}} {
		n, err := warm(p.path)
		if err != nil {
			return in, err
		}
		*p.size = n
	}
	return in, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

func shell(script string) error {
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", script, err, out)
	}
	return nil
}

func warm(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(io.Discard, f)
}

// writeLayout stores the gzip layer as is, so umoci unpacks the same
// bytes that tar -xzf and layers.Apply read.
func writeLayout(ctx context.Context, in inputs) error {
	l, err := layers.NewLayout(ctx, in.layout)
	if err != nil {
		return err
	}
	diffID, err := layers.DiffID(ctx, mustOpen(in.tar))
	if err != nil {
		return err
	}
	gz := mustOpen(in.gz)
	defer gz.Close()
	ld, err := l.Ingest(ctx, gz, ocispec.Descriptor{MediaType: ocispec.MediaTypeImageLayerGzip})
	if err != nil {
		return err
	}
	cfg := ocispec.Image{Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS: ocispec.RootFS{DiffIDs: []digest.Digest{diffID}}}
	m, err := layers.PutImage(ctx, l, cfg, []ocispec.Descriptor{ld}, nil)
	if err != nil {
		return err
	}
	return l.Tag(ctx, "bench", m)
}
