package berth

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/dockerfile"
	"github.com/berthlabs/berth/layers"
)

// addStep runs ADD: COPY, plus the extraction of local tar archives.
// URLs and git repositories are refused: a build has no network.
func (b *builder) addStep(ctx context.Context, s *stageState, a *dockerfile.Add) (bool, error) {
	for _, src := range a.Sources {
		if isRemote(src) {
			return false, fmt.Errorf("ADD %s: downloading is not supported, builds have no network access: %w", src, errors.ErrUnsupported)
		}
	}
	if a.Checksum != "" || a.KeepGitDir != nil {
		return false, fmt.Errorf("ADD --checksum and --keep-git-dir apply to downloads, which are not supported: %w", errors.ErrUnsupported)
	}
	p, err := b.planCopy(ctx, s, &a.FileCopy, "", true, false)
	if err != nil {
		return false, err
	}
	unpack := a.Unpack == nil || *a.Unpack
	p.extra = []string{"unpack=" + strconv.FormatBool(unpack)}
	if unpack {
		p.prepare = b.extractArchives
	}
	return b.runCopy(ctx, s, p, "")
}

// isRemote reports whether an ADD source is a URL or a git repository.
func isRemote(src string) bool {
	if i := strings.Index(src, "://"); i > 0 && !strings.ContainsAny(src[:i], "/.") {
		return true
	}
	return strings.HasPrefix(src, "git@")
}

// extractArchives replaces every regular file source of p that is a tar
// archive (plain, gzip, bzip2 or zstd) by a directory source holding its
// extracted contents, which keep the owners the archive gives them.
func (b *builder) extractArchives(ctx context.Context, p *copyPlan) (func() error, error) {
	var dirs []string
	release := func() error {
		var errs []error
		for _, d := range dirs {
			errs = append(errs, removeAllQuiet(d))
		}
		return errors.Join(errs...)
	}
	for i, cs := range p.sources {
		f := &cs.files[0]
		if !f.mode.IsRegular() || f.abs == "" {
			continue
		}
		ok, err := isTarArchive(f.abs)
		if err != nil || !ok {
			if err != nil {
				return nil, errors.Join(fmt.Errorf("ADD %s: %w", cs.name, err), release())
			}
			continue
		}
		dir, err := os.MkdirTemp("", "berth-build-add-")
		if err != nil {
			return nil, errors.Join(err, release())
		}
		dirs = append(dirs, dir)
		if err := os.Chmod(dir, 0o755); err != nil { // an archive's "./" entry may change it
			return nil, errors.Join(err, release())
		}
		if err := extractArchive(ctx, f.abs, dir); err != nil {
			return nil, errors.Join(fmt.Errorf("ADD %s: extracting: %w", cs.name, err), release())
		}
		t := sourceTree{root: dir, keepOwner: os.Geteuid() == 0, what: "archive " + strconv.Quote(cs.name)}
		ex, err := t.load("/")
		if err != nil {
			return nil, errors.Join(err, release())
		}
		ex.name, ex.keepOwner = cs.name, t.keepOwner
		p.sources[i] = ex
	}
	return release, nil
}

// archiveReader opens the file at p decompressed; ok is false when its
// compression is one ADD does not extract (xz).
func archiveReader(p string) (io.ReadCloser, bool, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false, err
	}
	br := bufio.NewReader(f)
	head, _ := br.Peek(6)
	if bytes.HasPrefix(head, []byte("BZh")) {
		return readCloser{bzip2.NewReader(br), f}, true, nil
	}
	if bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}) {
		return f, false, nil
	}
	rc, _, err := layers.Decompress(br)
	if err != nil {
		f.Close()
		return nil, false, err
	}
	return readCloser{rc, multiCloser{rc, f}}, true, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// isTarArchive reports whether the file at p is a tar archive, maybe
// compressed, as Docker decides it: its first header reads.
func isTarArchive(p string) (bool, error) {
	rc, ok, err := archiveReader(p)
	if err != nil {
		return false, nil // not a compressed stream we know: a plain file
	}
	defer rc.Close()
	if !ok {
		return false, fmt.Errorf("xz-compressed archives cannot be extracted here: %w", errors.ErrUnsupported)
	}
	_, err = tar.NewReader(rc).Next()
	return err == nil, nil
}

// extractArchive extracts the archive at p into dir, confined to it.
func extractArchive(ctx context.Context, p, dir string) error {
	rc, _, err := archiveReader(p)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = layers.Apply(ctx, dir, rc, &layers.ApplyOptions{Unprivileged: os.Geteuid() != 0})
	return err
}
