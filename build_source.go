package berth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/dockerfile"
	"github.com/berthlabs/berth/namespaces"
)

// sourceTree is where COPY, ADD and bind mounts read files: the build
// context (with its ignore rules) or a stage's or image's tree.
type sourceTree struct {
	// root is the host directory; "" for an empty tree (scratch).
	root string
	// ignore excludes context paths; nil for trees other than the context.
	ignore *dockerfile.IgnoreMatcher
	// keepOwner keeps the files' owners; false (the context) makes them
	// root's, as Docker does.
	keepOwner bool
	// what names the tree in errors: "the build context", "stage build".
	what string
}

// srcFile is one file system object a source holds.
type srcFile struct {
	// rel is the slash path below the source's root; "" for the root.
	rel string
	// abs is the host path; "" for inline content.
	abs      string
	mode     fs.FileMode
	uid, gid int
	size     int64
	mtime    time.Time
	link     string
	rdev     uint64
	// dev, ino and ctime identify the inode state, for hash reuse.
	dev, ino uint64
	ctime    int64
	// digest is the content's hex SHA-256 once computed (regular files).
	digest string
	// data is inline content (a heredoc); used when abs is "".
	data []byte
}

// copySource is one matched source of COPY/ADD: a file or a directory
// with everything below it.
type copySource struct {
	// name is the base name a file gets when copied into a directory.
	name string
	// keepOwner keeps the owners of files (an extracted archive's).
	keepOwner bool
	// files holds the source itself first (rel ""), then for a directory
	// its contents in walk order.
	files []srcFile
}

func (c *copySource) isDir() bool { return c.files[0].mode.IsDir() }

// notFound is the error for a source that does not exist.
func (t *sourceTree) notFound(src string) error {
	if t.ignore != nil {
		return fmt.Errorf("%q: not found in %s or excluded by .dockerignore: %w", src, t.what, fs.ErrNotExist)
	}
	return fmt.Errorf("%q: not found in %s: %w", src, t.what, fs.ErrNotExist)
}

// match finds the sources a COPY/ADD source path names: the path itself,
// or with wildcards every path that matches. Symbolic links on the way
// are followed inside the tree, never out of it.
func (t *sourceTree) match(src string) ([]*copySource, error) {
	clean := path.Clean("/" + filepath.ToSlash(src))
	var paths []string
	if hasWildcard(clean) {
		var err error
		if paths, err = t.glob(clean); err != nil {
			return nil, err
		}
	} else {
		paths = []string{clean}
	}
	var out []*copySource
	for _, p := range paths {
		cs, err := t.load(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errors.Join(t.notFound(src), err)
		} else if err != nil {
			return nil, err
		}
		out = append(out, cs)
	}
	if len(out) == 0 {
		return nil, t.notFound(src)
	}
	return out, nil
}

func hasWildcard(p string) bool { return strings.ContainsAny(p, "*?[") }

// resolve returns the host path of p (absolute in the tree) and its path
// relative to the root after following symlinks.
func (t *sourceTree) resolve(p string) (abs, rel string, err error) {
	if t.root == "" {
		return "", "", fs.ErrNotExist
	}
	abs, err = namespaces.SecureJoin(t.root, p)
	if err != nil {
		return "", "", err
	}
	rel, err = filepath.Rel(t.root, abs)
	if err != nil {
		return "", "", err
	}
	return abs, filepath.ToSlash(rel), nil
}

// excluded reports whether the context path rel ("." for the root) is
// left out by .dockerignore.
func (t *sourceTree) excluded(rel string) bool {
	return t.ignore != nil && rel != "." && t.ignore.Matches(rel)
}

// load reads the source at p (absolute in the tree): its own entry and,
// for a directory, everything below it that is not excluded.
func (t *sourceTree) load(p string) (*copySource, error) {
	abs, rel, err := t.resolve(p)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return nil, err
	}
	if t.excluded(rel) && !(fi.IsDir() && t.ignore.Exclusions()) {
		return nil, fs.ErrNotExist
	}
	root, err := t.stat(abs, "", fi)
	if err != nil {
		return nil, err
	}
	cs := &copySource{name: path.Base(p), files: []srcFile{root}}
	if fi.IsDir() {
		kept, err := t.walk(abs, rel, "", &cs.files)
		if err != nil {
			return nil, err
		}
		if t.excluded(rel) && !kept {
			return nil, fs.ErrNotExist
		}
	}
	return cs, nil
}

// walk appends the entries below the directory abs (ctxRel is its path
// in the tree, rel its path below the source) in sorted order, leaving
// out excluded ones; a directory that is excluded stays when something
// below it is re-included. It reports whether it appended anything.
func (t *sourceTree) walk(abs, ctxRel, rel string, out *[]srcFile) (bool, error) {
	ents, err := os.ReadDir(abs)
	if err != nil {
		return false, err
	}
	added := false
	for _, e := range ents {
		childAbs, childCtx := filepath.Join(abs, e.Name()), path.Join(ctxRel, e.Name())
		childRel := path.Join(rel, e.Name())
		ex := t.excluded(childCtx)
		if ex && !(e.IsDir() && t.ignore.Exclusions()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return false, err
		}
		f, err := t.stat(childAbs, childRel, fi)
		if err != nil {
			return false, err
		}
		at := len(*out)
		*out = append(*out, f)
		if fi.IsDir() {
			sub, err := t.walk(childAbs, childCtx, childRel, out)
			if err != nil {
				return false, err
			}
			if ex && !sub {
				*out = slices.Delete(*out, at, at+1)
				continue
			}
		}
		added = true
	}
	return added, nil
}

// stat describes the object at abs.
func (t *sourceTree) stat(abs, rel string, fi fs.FileInfo) (srcFile, error) {
	f := srcFile{rel: rel, abs: abs, mode: fi.Mode(), mtime: fi.ModTime()}
	if fi.Mode().IsRegular() {
		f.size = fi.Size()
	}
	if t.keepOwner {
		f.uid, f.gid = fileOwner(fi)
	}
	f.rdev = fileRdev(fi)
	f.dev, f.ino, f.ctime = fileID(fi)
	if fi.Mode()&fs.ModeSymlink != 0 {
		l, err := os.Readlink(abs)
		if err != nil {
			return f, err
		}
		f.link = l
	}
	if fi.Mode()&fs.ModeSocket != 0 {
		return f, fmt.Errorf("%s: cannot copy a socket: %w", abs, fs.ErrInvalid)
	}
	return f, nil
}

// glob expands a source pattern (absolute in the tree) component by
// component, with path.Match, following directory symlinks inside the
// tree. Excluded paths do not match.
func (t *sourceTree) glob(pattern string) ([]string, error) {
	if t.root == "" {
		return nil, nil
	}
	comps := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	cur := []string{"/"}
	for _, c := range comps {
		if _, err := path.Match(c, ""); err != nil {
			return nil, fmt.Errorf("source %q: %w", pattern, err)
		}
		var next []string
		for _, dir := range cur {
			if !hasWildcard(c) {
				next = append(next, path.Join(dir, c))
				continue
			}
			abs, _, err := t.resolve(dir)
			if err != nil {
				return nil, err
			}
			ents, err := os.ReadDir(abs)
			if err != nil {
				continue // not a directory: nothing below it matches
			}
			for _, e := range ents {
				if ok, _ := path.Match(c, e.Name()); ok {
					next = append(next, path.Join(dir, e.Name()))
				}
			}
		}
		cur = next
	}
	var out []string
	for _, p := range cur {
		_, rel, err := t.resolve(p)
		if err != nil {
			return nil, err
		}
		if _, err := os.Lstat(filepath.Join(t.root, rel)); err == nil && !t.excluded(rel) {
			out = append(out, p)
		}
	}
	return out, nil
}
