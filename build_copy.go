package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/dockerfile"
)

// copyPlan is a COPY or ADD resolved against its source.
type copyPlan struct {
	op string // "COPY" or "ADD"
	// src is where the sources are read; for a stage or image it is
	// opened only when the step is not cached.
	src     sourceTree
	srcSpec []string
	// fromChain identifies a stage or image source by its chain ID;
	// fromDescs and fromDiffIDs are its layers.
	fromChain   string
	fromDescs   []ocispec.Descriptor
	fromDiffIDs []digest.Digest
	// sources are the matched sources (context, inline, ADD archives).
	sources []*copySource
	// dest is the destination, absolute in the image; destDir says it
	// was written as a directory (trailing "/", ".").
	dest    string
	destDir bool
	chown   string
	chmod   string
	link    bool
	exclude *dockerfile.IgnoreMatcher
	// extra are more inputs of the cache key (ADD's flags).
	extra []string
	// prepare, if set, runs before the layer is laid out (ADD extracts
	// its archives); its result releases what it made.
	prepare func(ctx context.Context, p *copyPlan) (func() error, error)
}

// copyStep runs COPY.
func (b *builder) copyStep(ctx context.Context, s *stageState, fc *dockerfile.FileCopy, from string, isAdd bool, parents bool) (bool, error) {
	p, err := b.planCopy(ctx, s, fc, from, isAdd, parents)
	if err != nil {
		return false, err
	}
	return b.runCopy(ctx, s, p, from)
}

// runCopy looks a planned COPY/ADD up in the cache and makes its layer if
// needed.
func (b *builder) runCopy(ctx context.Context, s *stageState, p *copyPlan, from string) (bool, error) {
	createdBy := copyCreatedBy(p, from)
	parent := s.chain()
	keyParent := parent
	if p.link {
		keyParent = ""
	}
	key, err := b.copyKey(p, keyParent)
	if err != nil {
		return false, err
	}
	e, hit, err := b.cacheLookup(ctx, key)
	if err != nil {
		return false, err
	}
	if !hit {
		if e, err = b.buildCopyLayer(ctx, s, p); err != nil {
			return false, err
		}
		if err := b.cacheStore(key, e); err != nil {
			return false, err
		}
	}
	s.addLayer(e.Layer, e.DiffID)
	s.addHistory(createdBy, true, b.epoch)
	return hit, nil
}

// planCopy resolves the sources and destination of a COPY/ADD.
func (b *builder) planCopy(ctx context.Context, s *stageState, fc *dockerfile.FileCopy, from string, isAdd bool, parents bool) (*copyPlan, error) {
	op := "COPY"
	if isAdd {
		op = "ADD"
	}
	if parents {
		return nil, fmt.Errorf("COPY --parents: %w", errors.ErrUnsupported)
	}
	srcSpec := slices.Clone(fc.Sources)
	for _, c := range fc.Contents {
		srcSpec = append(srcSpec, "<<"+c.Path)
	}
	p := &copyPlan{op: op, srcSpec: srcSpec, chown: fc.Chown, chmod: fc.Chmod, link: fc.Link,
		dest: workdirPath(s.config.Config.WorkingDir, fc.Dest), destDir: isDirSpec(fc.Dest)}
	if p.dest == "/" {
		p.destDir = true
	}
	if _, err := parseChmod(p.chmod); err != nil {
		return nil, err
	}
	if len(fc.Exclude) > 0 {
		m, err := dockerfile.NewIgnoreMatcher(fc.Exclude)
		if err != nil {
			return nil, fmt.Errorf("--exclude: %w", err)
		}
		p.exclude = m
	}
	if from != "" {
		return p, b.planFrom(ctx, p, from)
	}
	p.src = sourceTree{root: b.contextDir, ignore: b.ignore, what: "the build context"}
	for _, src := range fc.Sources {
		ms, err := p.src.match(src)
		if err != nil {
			return nil, err
		}
		p.sources = append(p.sources, ms...)
	}
	for _, c := range fc.Contents {
		p.sources = append(p.sources, &copySource{name: path.Base(path.Clean("/" + c.Path)),
			files: []srcFile{{mode: 0o644, size: int64(len(c.Data)), mtime: b.epoch, data: []byte(c.Data)}}})
	}
	p.applyExclude()
	return p, nil
}

// isDirSpec reports whether a destination as written names a directory.
func isDirSpec(dest string) bool {
	return strings.HasSuffix(dest, "/") || dest == "." || dest == ".." ||
		strings.HasSuffix(dest, "/.") || strings.HasSuffix(dest, "/..")
}

// planFrom points a COPY --from at a stage or an image. Its files are
// read only when the step is not cached: its chain ID stands for them.
func (b *builder) planFrom(ctx context.Context, p *copyPlan, from string) error {
	if st := b.stageFor(from); st != nil {
		p.fromChain = "stage:" + st.chain()
		p.fromDescs, p.fromDiffIDs = st.layers, st.diffIDs
		p.src = sourceTree{keepOwner: true, what: "stage " + strconv.Quote(st.name())}
		return nil
	}
	img, _, err := b.loadImage(ctx, from)
	if err != nil {
		return err
	}
	p.fromChain = "image:" + chainOf(img.DiffIDs())
	p.fromDescs, p.fromDiffIDs = img.Layers(), img.DiffIDs()
	p.src = sourceTree{keepOwner: true, what: "image " + strconv.Quote(from)}
	return nil
}

// fromRef returns the layers of the stage or image a --from names.
func (b *builder) fromRef(ctx context.Context, from string) ([]ocispec.Descriptor, []digest.Digest, error) {
	if st := b.stageFor(from); st != nil {
		return st.layers, st.diffIDs, nil
	}
	img, _, err := b.loadImage(ctx, from)
	if err != nil {
		return nil, nil, err
	}
	return img.Layers(), img.DiffIDs(), nil
}

// stageFor finds a built stage by name or index, as --from names it.
func (b *builder) stageFor(name string) *stageState {
	if st := b.file.Stage(name); st != nil {
		return b.stages[st.Index]
	}
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(b.file.Stages) {
		return b.stages[i]
	}
	return nil
}

// applyExclude drops the files --exclude names.
func (p *copyPlan) applyExclude() {
	if p.exclude == nil {
		return
	}
	kept := p.sources[:0]
	for _, cs := range p.sources {
		if p.exclude.Matches(cs.name) {
			continue
		}
		files := cs.files[:1]
		for _, f := range cs.files[1:] {
			if !p.exclude.Matches(f.rel) {
				files = append(files, f)
			}
		}
		cs.files = files
		kept = append(kept, cs)
	}
	p.sources = kept
}

// copyKey is the cache key of a COPY/ADD: its options, destination and
// every source file's path, type, mode, owner, size, clamped time and
// content digest (or, for a stage or image, its chain ID and the paths).
func (b *builder) copyKey(p *copyPlan, parent string) (digest.Digest, error) {
	k := b.newStepKey(p.op, parent)
	k.add(p.dest, strconv.FormatBool(p.destDir), p.chown, p.chmod, strconv.FormatBool(p.link), p.fromChain)
	k.addList(p.srcSpec)
	k.addList(p.extra)
	if p.exclude != nil {
		k.addList(p.exclude.Patterns())
	}
	k.add(strconv.Itoa(len(p.sources)))
	for _, cs := range p.sources {
		k.add(cs.name, strconv.Itoa(len(cs.files)))
		for i := range cs.files {
			f := &cs.files[i]
			if f.mode.IsRegular() && f.digest == "" {
				d, err := b.hashes.sum(f)
				if err != nil {
					return "", err
				}
				f.digest = d
			}
			k.add(f.rel, strconv.FormatUint(uint64(f.mode), 8), strconv.Itoa(f.uid), strconv.Itoa(f.gid),
				strconv.FormatInt(f.size, 10), f.link, strconv.FormatUint(f.rdev, 10),
				strconv.FormatInt(b.clamp(f.mtime).Unix(), 10), f.digest)
		}
	}
	return k.digest(), nil
}

// copyCreatedBy is the history text of a COPY/ADD.
func copyCreatedBy(p *copyPlan, from string) string {
	words := []string{p.op}
	if from != "" {
		words = append(words, "--from="+from)
	}
	if p.chown != "" {
		words = append(words, "--chown="+p.chown)
	}
	if p.chmod != "" {
		words = append(words, "--chmod="+p.chmod)
	}
	if p.link {
		words = append(words, "--link")
	}
	words = append(words, p.srcSpec...)
	return strings.Join(append(words, p.dest), " ")
}

// buildCopyLayer writes the layer of a COPY/ADD that is not cached.
func (b *builder) buildCopyLayer(ctx context.Context, s *stageState, p *copyPlan) (_ cacheEntry, retErr error) {
	if p.fromChain != "" {
		release, err := b.openFrom(ctx, p)
		if err != nil {
			return cacheEntry{}, err
		}
		defer func() { retErr = errors.Join(retErr, release()) }()
	}
	if p.prepare != nil {
		release, err := p.prepare(ctx, p)
		if err != nil {
			return cacheEntry{}, err
		}
		defer func() { retErr = errors.Join(retErr, release()) }()
	}
	dst := tree{release: func() error { return nil }}
	if !p.link || !numericChown(p.chown) {
		parent, err := b.materialize(ctx, s.layers, s.diffIDs)
		if err != nil {
			return cacheEntry{}, err
		}
		if dst, err = b.openView(ctx, parent); err != nil {
			return cacheEntry{}, err
		}
	}
	defer func() { retErr = errors.Join(retErr, dst.release()) }()
	lt, err := b.layoutCopy(p, dst.dir)
	if err != nil {
		return cacheEntry{}, err
	}
	return b.storeTar(ctx, lt)
}

// openFrom opens the stage or image tree a COPY --from reads and matches
// the sources in it; the returned function releases the tree.
func (b *builder) openFrom(ctx context.Context, p *copyPlan) (func() error, error) {
	chain, err := b.materialize(ctx, p.fromDescs, p.fromDiffIDs)
	if err != nil {
		return nil, err
	}
	t, err := b.openView(ctx, chain)
	if err != nil {
		return nil, err
	}
	p.src.root = t.dir
	for _, src := range p.srcSpec {
		if strings.HasPrefix(src, "<<") {
			continue
		}
		ms, err := p.src.match(src)
		if err != nil {
			return nil, errors.Join(err, t.release())
		}
		p.sources = append(p.sources, ms...)
	}
	p.applyExclude()
	return t.release, nil
}

// numericChown reports whether a --chown value needs no name lookup.
func numericChown(spec string) bool {
	if spec == "" {
		return true
	}
	for _, part := range strings.SplitN(spec, ":", 2) {
		if _, err := strconv.ParseUint(part, 10, 32); err != nil {
			return false
		}
	}
	return true
}

// fileMode converts a Go file mode's permission and special bits to the
// Unix mode bits a tar header holds.
func fileMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}

// removeAllQuiet removes a temporary directory, reporting failures.
func removeAllQuiet(dir string) error {
	if dir == "" {
		return nil
	}
	return os.RemoveAll(dir)
}
