package berth

import (
	"archive/tar"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// RootfsOptions tunes [ImageStore.ImportRootfs]. The zero value (or nil)
// makes a nameless image for the host's platform with an empty config,
// created now, its layer stored uncompressed.
type RootfsOptions struct {
	// Names are the names the image gets (normalised like
	// [ParseReference]); none: the image has no name.
	Names []string
	// Platform is the platform the config declares. An empty OS or
	// Architecture is taken from [WithImagePlatform], or else from the
	// host.
	Platform ocispec.Platform
	// Config is the runtime config the image starts with (Env, Cmd, ...).
	Config ocispec.ImageConfig
	// Changes are Dockerfile instructions applied to Config in order, as
	// "docker import --change" does: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL,
	// STOPSIGNAL, USER, VOLUME and WORKDIR, with $VARIABLES expanded from
	// the config's Env. Other instructions wrap errors.ErrUnsupported.
	Changes []string
	// Created is the creation time recorded in the config and history;
	// set it for reproducible digests. Nil: the current time.
	Created *time.Time
	// Author is the config's author; "" for none.
	Author string
	// Comment is recorded in the image history (like "docker import
	// --message"); "" for none.
	Comment string
	// Compression is how the layer is stored; the zero value is
	// uncompressed, as "docker import" keeps it.
	Compression layers.Compression
}

// ImportRootfs makes a one-layer image of the root filesystem tarball
// read from r (plain, gzip or zstd), like "docker import": the tar becomes
// the layer as it is, and the config is built from opts. The input must
// be a tar archive (else the error wraps fs.ErrInvalid). It returns the
// image with its names.
func (s *ImageStore) ImportRootfs(ctx context.Context, r io.Reader, opts *RootfsOptions) (_ ImageInfo, retErr error) {
	var o RootfsOptions
	if opts != nil {
		o = *opts
	}
	cfg, err := s.rootfsConfig(&o)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("importing rootfs: %w", err)
	}
	names, err := normaliseNames(o.Names)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("importing rootfs: %w", err)
	}
	w, err := s.NewWriter(ctx)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("importing rootfs: %w", err)
	}
	defer func() { retErr = errors.Join(retErr, w.Close()) }()
	desc, diffID, err := writeTarLayer(ctx, w, r, o.Compression)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("importing rootfs: %w", err)
	}
	cfg.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}}
	img, err := w.WriteImage(ctx, cfg, []ocispec.Descriptor{desc}, nil)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("importing rootfs: %w", err)
	}
	infos, err := s.registerAll(ctx, []importedImage{{desc: img.desc, names: names}})
	if err != nil {
		return ImageInfo{}, fmt.Errorf("importing rootfs: %w", err)
	}
	return infos[0], nil
}

// rootfsConfig builds the config of an imported rootfs (without RootFS).
func (s *ImageStore) rootfsConfig(o *RootfsOptions) (ocispec.Image, error) {
	created := time.Now().UTC()
	if o.Created != nil {
		created = o.Created.UTC()
	}
	p := copyPlatform(o.Platform)
	if p.OS == "" || p.Architecture == "" {
		def := hostPlatform()
		if s.platform != nil {
			def = copyPlatform(*s.platform)
		}
		if def.Architecture == "arm64" || def.Architecture == "amd64" {
			def.Variant = "" // the default variant is left out, as Docker does
		}
		if p.Architecture == "" {
			p.Architecture, p.Variant = def.Architecture, cmp.Or(p.Variant, def.Variant)
		}
		p.OS = cmp.Or(p.OS, def.OS)
	}
	cfg := ocispec.Image{Created: &created, Author: o.Author, Platform: p, Config: copyConfig(ocispec.Image{Config: o.Config}).Config}
	if err := applyChanges(&cfg.Config, o.Changes); err != nil {
		return cfg, err
	}
	cfg.History = []ocispec.History{{Created: &created, CreatedBy: "berth import", Author: o.Author, Comment: o.Comment}}
	return cfg, nil
}

// writeTarLayer stores the tar read from r (maybe compressed) as a layer
// compressed with c, checking on the way that it is a tar archive.
func writeTarLayer(ctx context.Context, w *ImageWriter, r io.Reader, c layers.Compression) (ocispec.Descriptor, digest.Digest, error) {
	dr, _, err := layers.Decompress(r)
	if err != nil {
		return ocispec.Descriptor{}, "", err
	}
	defer dr.Close()
	pr, pw := io.Pipe()
	checked := make(chan error, 1)
	go func() { checked <- checkTar(pr) }()
	counted := &countingReader{r: dr}
	desc, diffID, err := w.WriteLayer(ctx, io.TeeReader(counted, pw), c)
	pw.Close()
	tarErr := <-checked
	switch {
	case err != nil:
		return desc, "", err
	case counted.n == 0:
		return desc, "", fmt.Errorf("the input is empty, not a tar archive: %w", fs.ErrInvalid)
	case tarErr != nil:
		return desc, "", fmt.Errorf("the input is not a tar archive: %v: %w", tarErr, fs.ErrInvalid)
	}
	return desc, diffID, nil
}

// checkTar reads r as a tar stream to its end and then drains it.
func checkTar(r *io.PipeReader) error {
	tr := tar.NewReader(r)
	var err error
	for err == nil {
		_, err = tr.Next()
	}
	if err == io.EOF {
		err = nil
	}
	_, derr := io.Copy(io.Discard, r)
	r.CloseWithError(errors.New("tar check ended"))
	return errors.Join(err, derr)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
