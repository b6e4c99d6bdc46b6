package berth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/internal/archive"
	"github.com/berthlabs/berth/internal/reference"
	"github.com/berthlabs/berth/layers"
)

// dockerLegacyLayer is the legacy (v1) metadata Docker writes per layer
// directory; loaders without manifest.json support read it.
type dockerLegacyLayer struct {
	ID           string               `json:"id"`
	Parent       string               `json:"parent,omitempty"`
	Created      time.Time            `json:"created"`
	OS           string               `json:"os,omitempty"`
	Architecture string               `json:"architecture,omitempty"`
	Config       *ocispec.ImageConfig `json:"config,omitempty"`
}

// writeDockerArchive writes set in "docker save" form: manifest.json and
// repositories, then per image its config (<hex>.json) and its layers
// (<diffID hex>.tar, uncompressed), and per layer a legacy directory
// (<v1 id>/VERSION, json, and layer.tar linking to the layer).
func (s *ImageStore) writeDockerArchive(ctx context.Context, w io.Writer, set []exported) error {
	aw := archive.NewWriter(w)
	items, repos := make([]dockerArchiveItem, 0, len(set)), map[string]map[string]string{}
	for _, e := range set {
		it := dockerArchiveItem{Config: e.img.ID().Encoded() + ".json", RepoTags: []string{}}
		for _, d := range e.img.config.RootFS.DiffIDs {
			it.Layers = append(it.Layers, d.Encoded()+".tar")
		}
		v1 := legacyIDs(e.img)
		for _, n := range e.names {
			r, err := reference.Parse(n)
			if err != nil || r.Tag == "" {
				continue
			}
			it.RepoTags = append(it.RepoTags, r.Familiar())
			repo := r.FamiliarName()
			if repos[repo] == nil {
				repos[repo] = map[string]string{}
			}
			if len(v1) > 0 {
				repos[repo][r.Tag] = v1[len(v1)-1]
			}
		}
		items = append(items, it)
	}
	for _, m := range []struct {
		name string
		v    any
	}{{dockerManifestFile, items}, {"repositories", repos}} {
		data, err := json.Marshal(m.v)
		if err != nil {
			return err
		}
		if err := aw.Bytes(m.name, data); err != nil {
			return err
		}
	}
	pending, cleanup := s.decompressLayers(ctx, set)
	written := map[string]bool{}
	for _, e := range set {
		if err := s.writeDockerImage(ctx, aw, e.img, written, pending); err != nil {
			return errors.Join(err, cleanup())
		}
	}
	return errors.Join(aw.Close(), cleanup())
}

// legacyIDs returns the v1 layer IDs of img: a chain over the diffIDs,
// the top one also over the config, since its json carries the config.
func legacyIDs(img *Image) []string {
	chains := layers.ChainIDs(img.config.RootFS.DiffIDs)
	out := make([]string, len(chains))
	for i, c := range chains {
		s := "v1 " + c.String()
		if i == len(chains)-1 {
			s += " " + img.ID().String()
		}
		out[i] = digest.FromString(s).Encoded()
	}
	return out
}

func (s *ImageStore) writeDockerImage(ctx context.Context, aw *archive.Writer, img *Image, written map[string]bool, pending map[digest.Digest]*uncompressedLayer) error {
	name := img.ID().Encoded() + ".json"
	if !written[name] {
		written[name] = true
		if err := s.writeBlobMember(ctx, aw, name, img.manifest.Config); err != nil {
			return err
		}
	}
	v1 := legacyIDs(img)
	for i, d := range img.config.RootFS.DiffIDs {
		tarName := d.Encoded() + ".tar"
		if !written[tarName] {
			written[tarName] = true
			if err := s.writeUncompressed(ctx, aw, tarName, img.manifest.Layers[i], pending[d]); err != nil {
				return fmt.Errorf("layer %d: %w", i, err)
			}
		}
		if written[v1[i]] {
			continue
		}
		written[v1[i]] = true
		if err := writeLegacyLayer(aw, img, v1, i, tarName); err != nil {
			return err
		}
	}
	return nil
}

func writeLegacyLayer(aw *archive.Writer, img *Image, v1 []string, i int, tarName string) error {
	meta := dockerLegacyLayer{ID: v1[i], Created: img.Created().UTC(), OS: img.config.OS, Architecture: img.config.Architecture}
	if i > 0 {
		meta.Parent = v1[i-1]
	}
	if i == len(v1)-1 {
		cfg := copyConfig(img.config).Config
		meta.Config = &cfg
	}
	data, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	dir := v1[i] + "/"
	return errors.Join(aw.Bytes(dir+"VERSION", []byte("1.0")), aw.Bytes(dir+"json", data),
		aw.Symlink(dir+"layer.tar", "../"+tarName))
}

// uncompressedLayer is a layer decompressed into a temporary file, or
// the error doing so; ready is closed when either is there.
type uncompressedLayer struct {
	ready chan struct{}
	file  *os.File
	size  int64
	err   error
}

// decompressLayers starts decompressing, copyParallelism at a time, the
// layers of set that are stored compressed, into unlinked temporary files
// in the store's directory, so that writing can take them in order while
// later ones are still being decompressed. The returned function waits
// for the workers and closes the files.
func (s *ImageStore) decompressLayers(ctx context.Context, set []exported) (map[digest.Digest]*uncompressedLayer, func() error) {
	type job struct {
		desc   ocispec.Descriptor
		diffID digest.Digest
		out    *uncompressedLayer
	}
	out := map[digest.Digest]*uncompressedLayer{}
	var jobs []job
	for _, e := range set {
		for i, d := range e.img.config.RootFS.DiffIDs {
			if l := e.img.manifest.Layers[i]; l.Digest != d && out[d] == nil {
				out[d] = &uncompressedLayer{ready: make(chan struct{})}
				jobs = append(jobs, job{l, d, out[d]})
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = forEach(ctx, len(jobs), copyParallelism, func(ctx context.Context, i int) error {
			j := jobs[i]
			j.out.file, j.out.size, j.out.err = s.decompressToTemp(ctx, j.desc, j.diffID)
			close(j.out.ready)
			return nil
		})
	}()
	return out, func() error {
		cancel()
		<-done
		var errs []error
		for _, l := range out {
			select {
			case <-l.ready:
			default:
				continue // never started
			}
			if l.file != nil {
				errs = append(errs, l.file.Close())
			}
		}
		return errors.Join(errs...)
	}
}

// decompressToTemp decompresses the layer blob d into a temporary file,
// checking that the result has diffID.
func (s *ImageStore) decompressToTemp(ctx context.Context, d ocispec.Descriptor, diffID digest.Digest) (_ *os.File, _ int64, retErr error) {
	rc, err := s.layout.Open(ctx, d.Digest)
	if err != nil {
		return nil, 0, err
	}
	defer rc.Close()
	dr, _, err := layers.Decompress(layers.VerifyReader(rc, d))
	if err != nil {
		return nil, 0, err
	}
	defer dr.Close()
	tmp, err := anonymousTemp(s.dir, ".berth-export-")
	if err != nil {
		return nil, 0, err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, tmp.Close())
		}
	}()
	h := diffID.Algorithm().Digester()
	size, err := io.Copy(io.MultiWriter(tmp, h.Hash()), ctxReader(ctx, dr))
	if err != nil {
		return nil, 0, err
	}
	if got := h.Digest(); got != diffID {
		return nil, 0, fmt.Errorf("layer %s: %w", d.Digest, &layers.DigestMismatchError{Want: diffID, Got: got, WantSize: -1, GotSize: size})
	}
	return tmp, size, nil
}

// writeUncompressed writes layer i of img as the uncompressed member
// name: straight from the store if it is stored uncompressed, else from
// its decompressed temporary file.
func (s *ImageStore) writeUncompressed(ctx context.Context, aw *archive.Writer, name string, d ocispec.Descriptor, l *uncompressedLayer) error {
	if l == nil {
		return s.writeBlobMember(ctx, aw, name, d)
	}
	select {
	case <-l.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	if l.err != nil {
		return l.err
	}
	return aw.File(name, l.size, io.NewSectionReader(l.file, 0, l.size))
}
