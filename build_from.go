package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/dockerfile"
	"github.com/berthlabs/berth/layers"
)

// from starts a stage: on an earlier stage, scratch or a base image.
func (b *builder) from(ctx context.Context, st *dockerfile.Stage) (*stageState, error) {
	var s *stageState
	for _, d := range b.plan.Deps[st.Index] {
		if d.Via == dockerfile.Instruction(st.From) {
			s = b.stages[d.Stage].clone(st)
		}
	}
	if s == nil {
		s = &stageState{st: st, scope: dockerfile.NewScope(b.plan.Global, b.opts.Args, b.file.Syntax.Escape)}
	}
	ev := b.stepStarted(s, displayText(st.From))
	start := time.Now()
	err := b.fromBase(ctx, s, b.plan.Bases[st.Index])
	ev.Duration = time.Since(start)
	if err != nil {
		ev.Kind, ev.Err = StepFailed, err
		b.progress.emit(ev)
		return nil, b.stepError(st.From, "FROM "+b.plan.Bases[st.Index], err)
	}
	ev.Kind = StepDone
	b.progress.emit(ev)
	return s, nil
}

// fromBase fills a stage that does not start from another stage.
func (b *builder) fromBase(ctx context.Context, s *stageState, base string) error {
	if s.config.RootFS.Type != "" { // built on an earlier stage
		return nil
	}
	if strings.EqualFold(base, "scratch") {
		s.config = scratchConfig()
		return nil
	}
	img, cfg, err := b.loadImage(ctx, base)
	if err != nil {
		return err
	}
	s.config = cfg
	s.layers, s.diffIDs = img.Layers(), img.DiffIDs()
	if s.config.RootFS.Type == "" {
		s.config.RootFS.Type = "layers"
	}
	return b.seedScope(s)
}

// loadImage finds an image named in FROM or COPY --from: an OCI layout
// ("oci:DIR[:REF]", "oci-layout://DIR[:REF]") or an image of the store.
// A layout's layers are copied into the store.
func (b *builder) loadImage(ctx context.Context, ref string) (*Image, buildConfig, error) {
	var img *Image
	var p layers.Provider = b.opts.Store
	var err error
	if dir, tag, ok := layoutRef(ref); ok {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(b.contextDir, dir)
		}
		lay := layers.Layout(dir)
		if img, err = loadLayoutImage(ctx, lay, tag); err != nil {
			return nil, buildConfig{}, fmt.Errorf("loading base image from layout %q: %w", dir, err)
		}
		if err := b.copyLayers(ctx, lay, img); err != nil {
			return nil, buildConfig{}, err
		}
		p = lay
	} else if img, err = b.opts.Store.Get(ctx, ref); err != nil {
		return nil, buildConfig{}, fmt.Errorf("base image %q is not in the image store (images are not pulled): %w", ref, err)
	}
	cfg, err := readConfig(ctx, p, img)
	return img, cfg, err
}

// layoutRef splits "oci:DIR[:REF]" and "oci-layout://DIR[:REF|@DIGEST]"
// at the first ':' after DIR, as skopeo and buildah do ("oci:/images:
// docker.io/library/app:1"); DIR cannot hold a ':'.
func layoutRef(ref string) (dir, tag string, ok bool) {
	rest, ok := strings.CutPrefix(ref, "oci-layout://")
	if !ok {
		if rest, ok = strings.CutPrefix(ref, "oci:"); !ok {
			return "", "", false
		}
	}
	if i := strings.IndexAny(rest, ":@"); i > 0 {
		return rest[:i], rest[i+1:], true
	}
	return rest, "", true
}

// loadLayoutImage loads the image tagged tag in lay, or its only image.
func loadLayoutImage(ctx context.Context, lay layers.Layout, tag string) (*Image, error) {
	if _, err := os.Stat(filepath.Join(string(lay), "oci-layout")); err != nil {
		return nil, fmt.Errorf("not an OCI image layout: %w", err)
	}
	var desc ocispec.Descriptor
	if tag != "" {
		d, err := lay.Resolve(ctx, tag)
		if err != nil {
			return nil, err
		}
		desc = d
	} else {
		idx, err := lay.Index(ctx)
		if err != nil {
			return nil, err
		}
		if len(idx.Manifests) != 1 {
			return nil, fmt.Errorf("layout holds %d images; name one with oci:DIR:REF: %w", len(idx.Manifests), fs.ErrInvalid)
		}
		desc = idx.Manifests[0]
	}
	return LoadImage(ctx, lay, desc)
}

// copyLayers copies the layer blobs of img from p into the store.
func (b *builder) copyLayers(ctx context.Context, p layers.Provider, img *Image) error {
	storeLayout := layers.Layout(b.opts.Store.Dir())
	for _, l := range img.Layers() {
		if _, err := storeLayout.Stat(ctx, l.Digest); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		rc, err := p.Open(ctx, l.Digest)
		if err != nil {
			return fmt.Errorf("copying layer %s: %w", l.Digest, err)
		}
		_, err = b.w.Ingest(ctx, rc, l)
		rc.Close()
		if err != nil {
			return fmt.Errorf("copying layer %s: %w", l.Digest, err)
		}
	}
	return nil
}

// seedScope makes the base image's environment visible to variable
// expansion, as BuildKit does ("ENV PATH=$PATH:/x").
func (b *builder) seedScope(s *stageState) error {
	esc := b.file.Syntax.Escape
	if esc == 0 {
		esc = '\\'
	}
	var words []string
	for _, kv := range s.config.Config.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'=\\`$") || strings.ContainsAny(v, "\r\n") {
			continue
		}
		words = append(words, k+"="+quoteWord(v, esc))
	}
	if len(words) == 0 {
		return nil
	}
	src := "FROM scratch\nENV " + strings.Join(words, " ") + "\n"
	if esc == '`' {
		src = "# escape=`\n" + src
	}
	f, err := dockerfile.ParseString(src)
	if err != nil {
		return fmt.Errorf("reading the base image's environment: %w", err)
	}
	if _, err := s.scope.Apply(f.Stages[0].Instructions[0]); err != nil {
		return fmt.Errorf("reading the base image's environment: %w", err)
	}
	return nil
}

// quoteWord double-quotes v for the Dockerfile lexer.
func quoteWord(v string, esc byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' || c == '$' || c == esc {
			sb.WriteByte(esc)
		}
		sb.WriteByte(c)
	}
	sb.WriteByte('"')
	return sb.String()
}
