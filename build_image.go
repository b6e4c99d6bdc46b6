package berth

import (
	"context"
	"fmt"
	"slices"

	"github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// commitImage writes the target stage's config and manifest, registers
// the image in the store and names it.
func (b *builder) commitImage(ctx context.Context, s *stageState) (*Image, error) {
	cfg := cloneConfig(s.config)
	created := b.epoch
	cfg.Created = &created
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = slices.Clone(s.diffIDs)
	if len(b.opts.Labels) > 0 && cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	for k, v := range b.opts.Labels {
		cfg.Config.Labels[k] = v
	}
	cfgDesc, err := layers.PutJSON(ctx, b.w, ocispec.MediaTypeImageConfig, cfg)
	if err != nil {
		return nil, fmt.Errorf("writing image config: %w", err)
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: cfgDesc.MediaType, Digest: cfgDesc.Digest, Size: cfgDesc.Size},
		Layers:    slices.Clone(s.layers),
	}
	if m.Layers == nil {
		m.Layers = []ocispec.Descriptor{}
	}
	desc, err := layers.PutJSON(ctx, b.w, ocispec.MediaTypeImageManifest, m)
	if err != nil {
		return nil, fmt.Errorf("writing image manifest: %w", err)
	}
	desc.Platform = &ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant}
	if err := b.register(ctx, desc); err != nil {
		return nil, err
	}
	img, err := b.opts.Store.Get(ctx, desc.Digest.String())
	if err != nil {
		return nil, err
	}
	for _, t := range b.opts.Tags {
		if err := b.opts.Store.Tag(ctx, desc.Digest.String(), t); err != nil {
			return nil, fmt.Errorf("tagging image as %q: %w", t, err)
		}
	}
	return img, nil
}

// register records the manifest desc in the store's index as an image
// without a name, unless the index has it already.
func (b *builder) register(ctx context.Context, desc ocispec.Descriptor) error {
	err := layers.Layout(b.opts.Store.Dir()).UpdateIndex(ctx, func(idx *ocispec.Index) error {
		for _, e := range idx.Manifests {
			if e.Digest == desc.Digest {
				return nil
			}
		}
		idx.Manifests = append(idx.Manifests, ocispec.Descriptor{MediaType: desc.MediaType,
			Digest: desc.Digest, Size: desc.Size, Platform: desc.Platform})
		return nil
	})
	if err != nil {
		return fmt.Errorf("registering image %s: %w", desc.Digest, err)
	}
	return nil
}
