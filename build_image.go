package berth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
)

// commitImage writes the target stage's config (with Docker's extra
// fields) and manifest through the store's writer, which registers the
// image, and names it.
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
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding image config: %w", err)
	}
	img, err := b.w.WriteRawImage(ctx, data, s.layers, nil)
	if err != nil {
		return nil, err
	}
	for _, t := range b.opts.Tags {
		if err := b.opts.Store.Tag(ctx, img.Digest().String(), t); err != nil {
			return nil, fmt.Errorf("tagging image as %q: %w", t, err)
		}
	}
	return img, nil
}
