package berth

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/internal/reference"
	"github.com/berthlabs/berth/layers"
)

// ImageStore is a local image store in a directory, which is an OCI image
// layout ([layers.Layout]): blobs under blobs/, the images in index.json.
// Each name an image has is one index.json entry whose
// org.opencontainers.image.ref.name annotation holds the normalised
// reference ("docker.io/library/busybox:latest"); an image without names
// (a "dangling" image, Docker's <none>:<none>) has one entry without the
// annotation. So skopeo and umoci can read the directory directly
// ("oci:DIR:docker.io/library/busybox:latest").
//
// Images are found by name ("busybox", "busybox:1.36",
// "localhost:5000/x:v1"), by digest ("x@sha256:...", or the manifest
// digest "sha256:..."), by image ID (the config digest, "sha256:..." or 64
// hex digits), or by an unambiguous prefix of the image ID's hex digits
// (with or without "sha256:"), as Docker does.
//
// An ImageStore is safe for concurrent use by goroutines and by several
// processes on the same directory. Updates of index.json hold a flock on
// it; writers of content (imports, [ImageWriter]) hold a shared lock on
// the store for their duration, and [ImageStore.Remove] and
// [ImageStore.GC], which delete blobs, hold it exclusively, so that no
// blob is deleted between its writing and its image's registration.
type ImageStore struct {
	dir      string
	layout   layers.Layout
	platform *ocispec.Platform
}

// ImageStoreOption configures [OpenImageStore].
type ImageStoreOption func(*imageStoreConfig)

type imageStoreConfig struct {
	platform *ocispec.Platform
}

// WithImagePlatform sets the platform chosen from multi-platform indexes
// by imports and by [ImageStore.Get] on index entries. The default is the
// platform this program runs on.
func WithImagePlatform(p ocispec.Platform) ImageStoreOption {
	return func(c *imageStoreConfig) {
		p := copyPlatform(p)
		c.platform = &p
	}
}

// storeLockFile serialises blob deletion against content writers.
const storeLockFile = ".berth-images.lock"

// OpenImageStore opens the image store in dir, creating it (an empty OCI
// image layout) if needed. An existing OCI image layout, for example one
// written by skopeo, can be opened as a store; one of another layout
// version wraps errors.ErrUnsupported. Blobs are written so that a crash
// never leaves a visible partial blob; the temporary files a crashed
// writer leaves are removed by [ImageStore.GC].
func OpenImageStore(ctx context.Context, dir string, opts ...ImageStoreOption) (*ImageStore, error) {
	var cfg imageStoreConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.platform != nil && (cfg.platform.OS == "" || cfg.platform.Architecture == "") {
		return nil, fmt.Errorf("opening image store %q: platform %q lacks an OS or architecture: %w",
			dir, platformString(*cfg.platform), fs.ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening image store %q: %w", dir, err)
	}
	l, err := openLayout(ctx, abs)
	if err != nil {
		return nil, fmt.Errorf("opening image store: %w", err)
	}
	return &ImageStore{dir: abs, layout: l, platform: cfg.platform}, nil
}

// openLayout opens an existing layout as it is, and creates a missing
// one with layers.NewLayout. An existing layout is not cleaned: the
// cleaning NewLayout does can remove the temporary index file of a writer
// in another process that has created it but not yet locked it.
func openLayout(ctx context.Context, dir string) (layers.Layout, error) {
	data, err := os.ReadFile(filepath.Join(dir, ocispec.ImageLayoutFile))
	if errors.Is(err, fs.ErrNotExist) {
		return layers.NewLayout(ctx, dir)
	}
	if err != nil {
		return "", err
	}
	var m ocispec.ImageLayout
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("decoding %s of %q: %v: %w", ocispec.ImageLayoutFile, dir, err, fs.ErrInvalid)
	}
	if m.Version != ocispec.ImageLayoutVersion {
		return "", fmt.Errorf("image layout %q version %q: %w", dir, m.Version, errors.ErrUnsupported)
	}
	if _, err := os.Stat(filepath.Join(dir, ocispec.ImageIndexFile)); err != nil {
		return "", err
	}
	return layers.Layout(dir), ctx.Err()
}

// Dir returns the store's directory (absolute).
func (s *ImageStore) Dir() string { return s.dir }

// Open returns a reader of the blob dgst, so that the store is a
// [layers.Provider]. It wraps fs.ErrNotExist if the store lacks the blob.
func (s *ImageStore) Open(ctx context.Context, dgst digest.Digest) (io.ReadCloser, error) {
	return s.layout.Open(ctx, dgst)
}

// ImageInfo describes an image in a store: the image and its names.
type ImageInfo struct {
	// Image is the image. Never nil in values the store returns.
	Image *Image
	// Names are the image's normalised references, sorted; empty for an
	// image without names.
	Names []string
}

// Get returns the image ref refers to (see [ImageStore] for the forms of
// ref). It wraps fs.ErrNotExist if there is none, and fs.ErrInvalid if
// ref is malformed or an ambiguous ID prefix.
func (s *ImageStore) Get(ctx context.Context, ref string) (*Image, error) {
	desc, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.load(ctx, desc)
}

func (s *ImageStore) load(ctx context.Context, desc ocispec.Descriptor) (*Image, error) {
	desc = copyDescriptor(desc)
	delete(desc.Annotations, ocispec.AnnotationRefName)
	if len(desc.Annotations) == 0 {
		desc.Annotations = nil
	}
	mdesc, err := selectManifest(ctx, s.layout, desc, s.platform)
	if err != nil {
		return nil, err
	}
	return LoadImage(ctx, s.layout, mdesc)
}

// Resolve returns the descriptor (of a manifest, or of an index put
// there by another tool) that ref refers to, with the same errors as
// [ImageStore.Get].
func (s *ImageStore) Resolve(ctx context.Context, ref string) (ocispec.Descriptor, error) {
	idx, err := s.layout.Index(ctx)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("resolving %q: %w", ref, err)
	}
	m, err := s.match(ctx, idx.Manifests, ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d := copyDescriptor(idx.Manifests[m.entry])
	delete(d.Annotations, ocispec.AnnotationRefName)
	if len(d.Annotations) == 0 {
		d.Annotations = nil
	}
	return d, nil
}

// Inspect returns the image ref refers to and all its names.
func (s *ImageStore) Inspect(ctx context.Context, ref string) (ImageInfo, error) {
	idx, err := s.layout.Index(ctx)
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspecting %q: %w", ref, err)
	}
	m, err := s.match(ctx, idx.Manifests, ref)
	if err != nil {
		return ImageInfo{}, err
	}
	d := idx.Manifests[m.entry].Digest
	img, err := s.load(ctx, idx.Manifests[m.entry])
	if err != nil {
		return ImageInfo{}, fmt.Errorf("inspecting %q: %w", ref, err)
	}
	return ImageInfo{Image: img, Names: namesOf(idx.Manifests, d)}, nil
}

// List returns every image in the store with its names, newest first
// (by the config's creation time, then by ID). An entry that cannot be
// read (a missing or corrupt blob) makes List fail.
func (s *ImageStore) List(ctx context.Context) ([]ImageInfo, error) {
	idx, err := s.layout.Index(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	var out []ImageInfo
	seen := map[digest.Digest]bool{}
	for _, e := range idx.Manifests {
		if seen[e.Digest] {
			continue
		}
		seen[e.Digest] = true
		img, err := s.load(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("listing images: %w", err)
		}
		out = append(out, ImageInfo{Image: img, Names: namesOf(idx.Manifests, e.Digest)})
	}
	slices.SortFunc(out, func(a, b ImageInfo) int {
		if c := b.Image.Created().Compare(a.Image.Created()); c != 0 {
			return c
		}
		return cmp.Compare(a.Image.ID(), b.Image.ID())
	})
	return out, nil
}

// Created returns the creation time from the image's config, the zero
// time if it has none.
func (img *Image) Created() time.Time {
	if img.config.Created == nil {
		return time.Time{}
	}
	return *img.config.Created
}

func refName(d ocispec.Descriptor) string { return d.Annotations[ocispec.AnnotationRefName] }

// namesOf returns the sorted names of the entries for dgst.
func namesOf(entries []ocispec.Descriptor, dgst digest.Digest) []string {
	var names []string
	for _, e := range entries {
		if n := refName(e); n != "" && e.Digest == dgst {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// match is the result of looking a reference up in index.json.
type match struct {
	entry  int    // index of the matching entry
	byName string // the name matched, "" for a match by digest or ID
}

// match finds ref among entries: by its name as written or normalised,
// by manifest digest, by image ID, or by an image ID prefix.
func (s *ImageStore) match(ctx context.Context, entries []ocispec.Descriptor, ref string) (match, error) {
	if ref == "" {
		return match{}, fmt.Errorf("resolving image: empty reference: %w", fs.ErrInvalid)
	}
	for i, e := range entries {
		if refName(e) == ref {
			return match{entry: i, byName: ref}, nil
		}
	}
	if d, err := digest.Parse(ref); err == nil {
		return s.matchID(ctx, entries, ref, d.Encoded(), true)
	}
	if reference.IsFullID(ref) {
		return s.matchID(ctx, entries, ref, ref, true)
	}
	if hex, ok := strings.CutPrefix(ref, "sha256:"); ok && reference.IsHexPrefix(hex) {
		return s.matchID(ctx, entries, ref, hex, false)
	}
	r, perr := reference.Parse(ref)
	if perr == nil {
		if m, ok := matchParsed(entries, r); ok {
			return m, nil
		}
	}
	if reference.IsHexPrefix(ref) {
		return s.matchID(ctx, entries, ref, ref, false)
	}
	if perr != nil {
		return match{}, fmt.Errorf("resolving image: %w", perr)
	}
	return match{}, fmt.Errorf("no such image: %s: %w", ref, fs.ErrNotExist)
}

// matchParsed finds a parsed reference: by digest if it has one, else by
// its normalised name and tag ("latest" by default).
func matchParsed(entries []ocispec.Descriptor, r reference.Reference) (match, bool) {
	if r.Digest != "" {
		for i, e := range entries {
			if e.Digest == r.Digest {
				return match{entry: i}, true
			}
		}
		return match{}, false
	}
	if r.Tag == "" {
		r.Tag = reference.DefaultTag
	}
	name := r.String()
	for i, e := range entries {
		if refName(e) == name {
			return match{entry: i, byName: name}, true
		}
	}
	return match{}, false
}

// matchID finds the entry whose manifest digest or image ID has the hex
// digits hex (all of them if full, else as a prefix of the image ID).
// Several different images matching a prefix is an error.
func (s *ImageStore) matchID(ctx context.Context, entries []ocispec.Descriptor, ref, hex string, full bool) (match, error) {
	found, foundID := -1, digest.Digest("")
	for i, e := range entries {
		if full && e.Digest.Encoded() == hex {
			return match{entry: i}, nil
		}
		id, err := s.imageID(ctx, e)
		if err != nil {
			continue // unreadable entries cannot match
		}
		ok := id.Encoded() == hex || !full && strings.HasPrefix(id.Encoded(), hex)
		if !ok {
			continue
		}
		if found >= 0 && foundID != id {
			return match{}, fmt.Errorf("resolving image: ID prefix %q is ambiguous: it matches %s and %s: %w", ref, foundID, id, fs.ErrInvalid)
		}
		if found < 0 {
			found, foundID = i, id
		}
	}
	if found < 0 {
		return match{}, fmt.Errorf("no such image: %s: %w", ref, fs.ErrNotExist)
	}
	return match{entry: found}, nil
}

// imageID returns the config digest of the image of entry e.
func (s *ImageStore) imageID(ctx context.Context, e ocispec.Descriptor) (digest.Digest, error) {
	mdesc, err := selectManifest(ctx, s.layout, e, s.platform)
	if err != nil {
		return "", err
	}
	var m struct {
		Config ocispec.Descriptor `json:"config"`
	}
	if err := layers.GetJSON(ctx, s.layout, mdesc, &m); err != nil {
		return "", err
	}
	if err := m.Config.Digest.Validate(); err != nil {
		return "", errors.Join(fs.ErrInvalid, err)
	}
	return m.Config.Digest, nil
}
