package berth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/internal/archive"
	"github.com/berthlabs/berth/layers"
)

// ExportOptions tunes [ImageStore.Export]. The zero value (or nil) writes
// an oci-archive.
type ExportOptions struct {
	// Format is the archive format; the zero value is [OCIArchive].
	Format ArchiveFormat
}

// exported is one image to export and the names it goes out under.
type exported struct {
	img   *Image
	names []string
}

// exportSet resolves refs: an image given by name goes out under that
// name, one given by ID or digest without names (as "docker save" does).
// An image given several times is exported once with all the names.
func (s *ImageStore) exportSet(ctx context.Context, refs []string) ([]exported, error) {
	if len(refs) == 0 {
		return nil, fmt.Errorf("exporting: no images given: %w", errNoRefs)
	}
	idx, err := s.layout.Index(ctx)
	if err != nil {
		return nil, fmt.Errorf("exporting: %w", err)
	}
	var out []exported
	pos := map[string]int{}
	for _, ref := range refs {
		m, err := s.match(ctx, idx.Manifests, ref)
		if err != nil {
			return nil, fmt.Errorf("exporting %q: %w", ref, err)
		}
		d := idx.Manifests[m.entry].Digest.String()
		i, ok := pos[d]
		if !ok {
			img, err := s.load(ctx, idx.Manifests[m.entry])
			if err != nil {
				return nil, fmt.Errorf("exporting %q: %w", ref, err)
			}
			i, pos[d] = len(out), len(out)
			out = append(out, exported{img: img})
		}
		if m.byName != "" && !slices.Contains(out[i].names, m.byName) {
			out[i].names = append(out[i].names, m.byName)
		}
	}
	return out, nil
}

var errNoRefs = errors.New("nothing to export")

// Export writes the images refs name (see [ImageStore] for the forms) to
// w as one archive in opts.Format. An image given by name is recorded
// under that name (the full normalised reference as the oci-archive's
// ref.name; Docker's short form in a docker-archive's RepoTags), one given
// by ID or digest without a name. Every blob is verified as it is read.
// The archive is deterministic: the same images and names give the same
// bytes. A docker-archive holds layers uncompressed, so compressed layers
// are decompressed through unlinked temporary files in the store's
// directory.
//
// Export holds the store lock shared, so Remove and GC wait for it. On
// error, w may have received part of an archive.
func (s *ImageStore) Export(ctx context.Context, w io.Writer, refs []string, opts *ExportOptions) (retErr error) {
	var o ExportOptions
	if opts != nil {
		o = *opts
	}
	lock, err := s.lockStore(ctx, false)
	if err != nil {
		return fmt.Errorf("exporting: %w", err)
	}
	defer func() { retErr = errors.Join(retErr, lock.unlock()) }()
	set, err := s.exportSet(ctx, refs)
	if err != nil {
		return err
	}
	switch o.Format {
	case OCIArchive:
		err = s.writeOCIArchive(ctx, w, set)
	case DockerArchive:
		err = s.writeDockerArchive(ctx, w, set)
	default:
		err = fmt.Errorf("unknown format %v: %w", o.Format, errors.ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("exporting %s: %w", o.Format, err)
	}
	return nil
}

// exportIndex is the index.json of an OCI layout holding set: an entry
// per name, or one without a name.
func exportIndex(set []exported) ocispec.Index {
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{}}
	for _, e := range set {
		d := entryDesc(e.img.desc)
		if len(e.names) == 0 {
			idx.Manifests = append(idx.Manifests, d)
		}
		for _, n := range e.names {
			nd := copyDescriptor(d)
			nd.Annotations = maps.Clone(nd.Annotations)
			if nd.Annotations == nil {
				nd.Annotations = map[string]string{}
			}
			nd.Annotations[ocispec.AnnotationRefName] = n
			idx.Manifests = append(idx.Manifests, nd)
		}
	}
	return idx
}

// imageBlobs lists the blobs of set, each once: manifests, configs and
// layers, in that order per image.
func imageBlobs(set []exported) []ocispec.Descriptor {
	var out []ocispec.Descriptor
	seen := map[string]bool{}
	for _, e := range set {
		for _, d := range append([]ocispec.Descriptor{e.img.desc, e.img.manifest.Config}, e.img.manifest.Layers...) {
			if !seen[d.Digest.String()] {
				seen[d.Digest.String()] = true
				out = append(out, d)
			}
		}
	}
	return out
}

func (s *ImageStore) writeOCIArchive(ctx context.Context, w io.Writer, set []exported) error {
	aw := archive.NewWriter(w)
	marker, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return err
	}
	index, err := json.Marshal(exportIndex(set))
	if err != nil {
		return err
	}
	if err := aw.Bytes(ocispec.ImageLayoutFile, marker); err != nil {
		return err
	}
	if err := aw.Bytes(ocispec.ImageIndexFile, index); err != nil {
		return err
	}
	for _, d := range imageBlobs(set) {
		if err := s.writeBlobMember(ctx, aw, "blobs/"+d.Digest.Algorithm().String()+"/"+d.Digest.Encoded(), d); err != nil {
			return err
		}
	}
	return aw.Close()
}

// writeBlobMember writes the blob of d as the member name, verifying it.
func (s *ImageStore) writeBlobMember(ctx context.Context, aw *archive.Writer, name string, d ocispec.Descriptor) error {
	rc, err := s.layout.Open(ctx, d.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	return aw.File(name, d.Size, ctxReader(ctx, layers.VerifyReader(rc, d)))
}

// ExportLayout writes the images refs name into the OCI image layout
// directory dir, creating it if needed and adding to what it holds (an
// entry with the same ref.name is replaced). Names are recorded as by
// [ImageStore.Export]. Blobs are copied and verified; dir can then be read
// by skopeo ("oci:DIR:NAME"), umoci, or [ImageStore.ImportLayout].
func (s *ImageStore) ExportLayout(ctx context.Context, dir string, refs []string) (retErr error) {
	lock, err := s.lockStore(ctx, false)
	if err != nil {
		return fmt.Errorf("exporting to %q: %w", dir, err)
	}
	defer func() { retErr = errors.Join(retErr, lock.unlock()) }()
	set, err := s.exportSet(ctx, refs)
	if err != nil {
		return err
	}
	dst, err := layers.NewLayout(ctx, dir)
	if err != nil {
		return fmt.Errorf("exporting: %w", err)
	}
	blobs := imageBlobs(set)
	err = forEach(ctx, len(blobs), copyParallelism, func(ctx context.Context, i int) error {
		return s.copyBlobTo(ctx, dst, blobs[i])
	})
	if err != nil {
		return fmt.Errorf("exporting to %q: %w", dir, err)
	}
	add := exportIndex(set).Manifests
	err = dst.UpdateIndex(ctx, func(idx *ocispec.Index) error {
		for _, d := range add {
			if n := refName(d); n != "" {
				setName(idx, n, d)
			} else {
				addNameless(idx, d)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("exporting to %q: %w", dir, err)
	}
	return nil
}

func (s *ImageStore) copyBlobTo(ctx context.Context, dst layers.Layout, d ocispec.Descriptor) error {
	if _, err := dst.Stat(ctx, d.Digest); err == nil {
		return nil
	}
	rc, err := s.layout.Open(ctx, d.Digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = dst.Ingest(ctx, rc, d)
	return err
}
