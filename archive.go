package berth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ArchiveFormat names an image archive format.
type ArchiveFormat int

const (
	// OCIArchive is an OCI image layout in a tar archive ("oci-archive"
	// to skopeo and podman): oci-layout, index.json and blobs/.
	OCIArchive ArchiveFormat = iota
	// DockerArchive is the format of "docker save" and "docker load"
	// ("docker-archive"): manifest.json, repositories, one JSON config and
	// one uncompressed layer tar per layer, plus Docker's legacy
	// per-layer directories.
	DockerArchive
)

// String returns "oci-archive" or "docker-archive".
func (f ArchiveFormat) String() string {
	switch f {
	case OCIArchive:
		return "oci-archive"
	case DockerArchive:
		return "docker-archive"
	}
	return fmt.Sprintf("ArchiveFormat(%d)", int(f))
}

// ImportOptions tunes [ImageStore.Import] and [ImageStore.ImportLayout].
// The zero value (or nil) imports every image with the names the archive
// gives it, for the store's platform.
type ImportOptions struct {
	// Platform is chosen from multi-platform indexes. Nil: the platform
	// of [WithImagePlatform], or else the host's.
	Platform *ocispec.Platform
	// Names, if not empty, are the names the imported image gets instead
	// of those in the archive; the archive must then hold exactly one
	// image (else the import fails, wrapping fs.ErrInvalid). Names are
	// normalised like [ParseReference] and must not hold digests.
	Names []string
}

// importedImage is an image copied into the store, not yet registered.
type importedImage struct {
	desc  ocispec.Descriptor
	names []string
}

// Import reads an image archive from r — an oci-archive or a
// docker-archive, told apart by their content, either one plain or
// gzip- or zstd-compressed — and adds its images to the store with the
// names it gives them: a docker-archive's RepoTags; in an oci-archive,
// each index.json entry's io.containerd.image.name annotation or else its
// org.opencontainers.image.ref.name if that is a full reference (a bare
// tag such as "1", as umoci writes, gives no name). From a multi-platform
// index the image for opts.Platform is taken (a [*PlatformError] if it
// has none). Images are registered together at the end: on error none
// is, and the blobs copied so far are left for [ImageStore.GC].
//
// An uncompressed archive in a regular file (an *os.File, or anything that
// is an io.ReadSeeker and an io.ReaderAt) is read in place, at random;
// other input is first copied, decompressed, to an unlinked temporary
// file in the store's directory. Every blob is verified against its digest (or, for a
// docker-archive layer, its diffID); the content is never extracted to
// disk as files. It returns the imported images with all their names.
// An input that is neither format wraps errors.ErrUnsupported.
func (s *ImageStore) Import(ctx context.Context, r io.Reader, opts *ImportOptions) (_ []ImageInfo, retErr error) {
	x, cleanup, err := openArchive(ctx, r, s.dir)
	if err != nil {
		return nil, fmt.Errorf("importing archive: %w", err)
	}
	defer func() { retErr = errors.Join(retErr, cleanup()) }()
	src := tarSource{x}
	switch {
	case src.has("manifest.json"):
		return s.importFrom(ctx, src, opts, s.importDocker)
	case src.has("index.json"):
		return s.importFrom(ctx, src, opts, s.importOCI)
	}
	return nil, fmt.Errorf("importing archive: neither manifest.json (docker-archive) nor index.json (oci-archive) found: %w", errors.ErrUnsupported)
}

// ImportLayout adds the images of the OCI image layout directory dir to
// the store, as [ImageStore.Import] does for an oci-archive. Files are
// opened inside dir only (symbolic links cannot lead out of it).
func (s *ImageStore) ImportLayout(ctx context.Context, dir string, opts *ImportOptions) (_ []ImageInfo, retErr error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("importing image layout %q: %w", dir, err)
	}
	defer func() { retErr = errors.Join(retErr, root.Close()) }()
	infos, err := s.importFrom(ctx, dirSource{root}, opts, s.importOCI)
	if err != nil {
		return nil, fmt.Errorf("importing image layout %q: %w", dir, err)
	}
	return infos, nil
}

type importFunc func(ctx context.Context, w *ImageWriter, src imageSource, p *ocispec.Platform) ([]importedImage, error)

// importFrom runs an import under a writer and registers what it copied.
func (s *ImageStore) importFrom(ctx context.Context, src imageSource, opts *ImportOptions, fn importFunc) (_ []ImageInfo, retErr error) {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	names, err := normaliseNames(o.Names)
	if err != nil {
		return nil, err
	}
	platform := o.Platform
	if platform == nil {
		platform = s.platform
	}
	w, err := s.NewWriter(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { retErr = errors.Join(retErr, w.Close()) }()
	imgs, err := fn(ctx, w, src, platform)
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		if len(imgs) != 1 {
			return nil, fmt.Errorf("naming imported images: the archive holds %d images, not one: %w", len(imgs), fs.ErrInvalid)
		}
		imgs[0].names = names
	}
	return s.registerAll(ctx, imgs)
}

func normaliseNames(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, n := range in {
		name, err := tagName(n)
		if err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, nil
}

// registerAll records imported images in the index in one update and
// returns them with all their names.
func (s *ImageStore) registerAll(ctx context.Context, imgs []importedImage) ([]ImageInfo, error) {
	var all []ocispec.Descriptor
	err := s.layout.UpdateIndex(ctx, func(idx *ocispec.Index) error {
		for _, im := range imgs {
			if len(im.names) == 0 {
				addNameless(idx, im.desc)
			}
			for _, n := range im.names {
				setName(idx, n, im.desc)
			}
		}
		all = append([]ocispec.Descriptor(nil), idx.Manifests...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registering imported images: %w", err)
	}
	var infos []ImageInfo
	seen := map[string]bool{}
	for _, im := range imgs {
		if seen[im.desc.Digest.String()] {
			continue
		}
		seen[im.desc.Digest.String()] = true
		img, err := LoadImage(ctx, s.layout, im.desc)
		if err != nil {
			return nil, err
		}
		infos = append(infos, ImageInfo{Image: img, Names: namesOf(all, im.desc.Digest)})
	}
	return infos, nil
}

// archiveName reads a name given in an archive: a full reference with a
// tag. It returns "" for a bare tag or a digest-only reference.
func archiveName(n string, bareTagsToo bool) (string, error) {
	if n == "" || !bareTagsToo && !strings.ContainsAny(n, "/:@") {
		return "", nil
	}
	r, err := ParseReference(n)
	if err != nil {
		return "", fmt.Errorf("image name %q in the archive: %w", n, err)
	}
	if r.Tag == "" {
		return "", nil
	}
	r.Digest = ""
	return r.String(), nil
}
