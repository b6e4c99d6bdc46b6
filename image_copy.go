package berth

import (
	"maps"
	"slices"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The copies below share no slice, map or pointer with their input, so
// that the values an Image hands out cannot change it.

func copyConfig(c ocispec.Image) ocispec.Image {
	out := c
	out.Created = copyTime(c.Created)
	out.Platform = copyPlatform(c.Platform)
	out.Config.ExposedPorts = maps.Clone(c.Config.ExposedPorts)
	out.Config.Env = slices.Clone(c.Config.Env)
	out.Config.Entrypoint = slices.Clone(c.Config.Entrypoint)
	out.Config.Cmd = slices.Clone(c.Config.Cmd)
	out.Config.Volumes = maps.Clone(c.Config.Volumes)
	out.Config.Labels = maps.Clone(c.Config.Labels)
	out.RootFS.DiffIDs = slices.Clone(c.RootFS.DiffIDs)
	if c.History != nil {
		out.History = make([]ocispec.History, len(c.History))
		for i, h := range c.History {
			out.History[i] = h
			out.History[i].Created = copyTime(h.Created)
		}
	}
	return out
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func copyPlatform(p ocispec.Platform) ocispec.Platform {
	p.OSFeatures = slices.Clone(p.OSFeatures)
	return p
}

func copyDescriptor(d ocispec.Descriptor) ocispec.Descriptor {
	d.URLs = slices.Clone(d.URLs)
	d.Annotations = maps.Clone(d.Annotations)
	d.Data = slices.Clone(d.Data)
	if d.Platform != nil {
		p := copyPlatform(*d.Platform)
		d.Platform = &p
	}
	return d
}

func copyDescriptors(ds []ocispec.Descriptor) []ocispec.Descriptor {
	if ds == nil {
		return nil
	}
	out := make([]ocispec.Descriptor, len(ds))
	for i, d := range ds {
		out[i] = copyDescriptor(d)
	}
	return out
}

func copyManifest(m ocispec.Manifest) ocispec.Manifest {
	m.Config = copyDescriptor(m.Config)
	m.Layers = copyDescriptors(m.Layers)
	if m.Subject != nil {
		s := copyDescriptor(*m.Subject)
		m.Subject = &s
	}
	m.Annotations = maps.Clone(m.Annotations)
	return m
}
