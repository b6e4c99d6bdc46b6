package berth

import (
	"context"
	"fmt"
	"io/fs"
	"maps"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Tag gives the image source refers to the name target, like "docker
// tag": target is normalised ("app" is docker.io/library/app:latest) and
// must not contain a digest. If target named another image, the name
// moves; that image is kept, without names if it had no other. It wraps
// fs.ErrNotExist if source is not in the store and fs.ErrInvalid if
// target is malformed.
func (s *ImageStore) Tag(ctx context.Context, source, target string) error {
	name, err := tagName(target)
	if err != nil {
		return fmt.Errorf("tagging %q: %w", source, err)
	}
	err = s.layout.UpdateIndex(ctx, func(idx *ocispec.Index) error {
		m, err := s.match(ctx, idx.Manifests, source)
		if err != nil {
			return err
		}
		setName(idx, name, idx.Manifests[m.entry])
		return nil
	})
	if err != nil {
		return fmt.Errorf("tagging %q as %q: %w", source, target, err)
	}
	return nil
}

// tagName normalises a name to tag with.
func tagName(target string) (string, error) {
	r, err := ParseReference(target)
	if err != nil {
		return "", err
	}
	if r.Digest != "" {
		return "", fmt.Errorf("name %q holds a digest, which cannot be tagged: %w", target, fs.ErrInvalid)
	}
	return r.String(), nil
}

// Untag removes the name ref (as written, or normalised) from its image.
// The image stays in the store, without names if ref was its last; use
// [ImageStore.Remove] to delete it. It wraps fs.ErrNotExist if no image
// has that name.
func (s *ImageStore) Untag(ctx context.Context, ref string) error {
	err := s.layout.UpdateIndex(ctx, func(idx *ocispec.Index) error {
		i := findName(idx.Manifests, ref)
		if i < 0 {
			return fmt.Errorf("no image is named %q: %w", ref, fs.ErrNotExist)
		}
		removeName(idx, i)
		return nil
	})
	if err != nil {
		return fmt.Errorf("untagging %q: %w", ref, err)
	}
	return nil
}

// findName returns the entry named ref, as written or normalised, or -1.
func findName(entries []ocispec.Descriptor, ref string) int {
	names := []string{ref}
	if n, err := tagName(ref); err == nil {
		names = append(names, n)
	}
	for i, e := range entries {
		for _, n := range names {
			if refName(e) == n {
				return i
			}
		}
	}
	return -1
}

// entryDesc is the index entry for desc: its descriptor without names.
func entryDesc(desc ocispec.Descriptor) ocispec.Descriptor {
	d := copyDescriptor(desc)
	delete(d.Annotations, ocispec.AnnotationRefName)
	if len(d.Annotations) == 0 {
		d.Annotations = nil
	}
	return d
}

// setName points name at desc: an entry with that name is replaced (its
// image kept without names if it had no other), and desc's nameless entry
// is dropped.
func setName(idx *ocispec.Index, name string, desc ocispec.Descriptor) {
	if i := findName(idx.Manifests, name); i >= 0 {
		if idx.Manifests[i].Digest == desc.Digest {
			return
		}
		removeName(idx, i)
	}
	kept := idx.Manifests[:0]
	for _, e := range idx.Manifests {
		if e.Digest != desc.Digest || refName(e) != "" {
			kept = append(kept, e)
		}
	}
	d := entryDesc(desc)
	d.Annotations = maps.Clone(d.Annotations)
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[ocispec.AnnotationRefName] = name
	idx.Manifests = append(kept, d)
}

// removeName deletes entry i; if that leaves its image without entries,
// a nameless entry keeps it.
func removeName(idx *ocispec.Index, i int) {
	e := idx.Manifests[i]
	idx.Manifests = append(idx.Manifests[:i], idx.Manifests[i+1:]...)
	if !hasEntry(idx.Manifests, e.Digest) {
		idx.Manifests = append(idx.Manifests, entryDesc(e))
	}
}

// addNameless records desc as an image without names unless the index
// already has it.
func addNameless(idx *ocispec.Index, desc ocispec.Descriptor) {
	if !hasEntry(idx.Manifests, desc.Digest) {
		idx.Manifests = append(idx.Manifests, entryDesc(desc))
	}
}

func hasEntry(entries []ocispec.Descriptor, d digest.Digest) bool {
	for _, e := range entries {
		if e.Digest == d {
			return true
		}
	}
	return false
}
