package cgroups

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// Option configures [New] and [Load].
type Option func(*config)

type config struct {
	root   string
	parent string
}

// WithRoot replaces [DefaultRoot], the directory where the hierarchies are
// mounted. Tests point it at a fake tree in t.TempDir(), laid out like the
// real one: for cgroup v2 a cgroup.controllers file in dir; for v1 a
// directory per controller (dir/memory, dir/cpu, ...) each holding a
// cgroup.procs file, plus dir/unified/cgroup.controllers for a hybrid host.
// On a directory that is not a cgroup file system, writing a control file
// creates it, so the fake tree needs only the files that are read.
func WithRoot(dir string) Option {
	return func(c *config) { c.root = dir }
}

// WithParent replaces [DefaultParent], the group under which relative
// paths are placed. It must be absolute, as in "/berth-test".
func WithParent(p string) Option {
	return func(c *config) { c.parent = p }
}

func newConfig(opts []Option) (config, error) {
	c := config{root: DefaultRoot, parent: DefaultParent}
	for _, o := range opts {
		o(&c)
	}
	if !filepath.IsAbs(c.root) {
		return c, fmt.Errorf("cgroup root %q: not an absolute path: %w", c.root, fs.ErrInvalid)
	}
	c.root = filepath.Clean(c.root)
	if !path.IsAbs(c.parent) || hasDotDot(c.parent) {
		return c, fmt.Errorf("cgroup parent %q: want an absolute path without \"..\": %w", c.parent, fs.ErrInvalid)
	}
	c.parent = path.Clean(c.parent)
	return c, nil
}

// groupPath returns the absolute cgroup path for p: p itself when
// absolute, else p under parent. It rejects "", "/", ".." elements and NUL.
func groupPath(parent, p string) (string, error) {
	if p == "" || hasDotDot(p) || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("cgroup path %q: want a non-empty path without \"..\": %w", p, fs.ErrInvalid)
	}
	if !path.IsAbs(p) {
		p = path.Join(parent, p)
	}
	p = path.Clean(p)
	if p == "/" {
		return "", fmt.Errorf("cgroup path %q: the root group cannot be managed: %w", p, fs.ErrInvalid)
	}
	return p, nil
}

func hasDotDot(p string) bool {
	for elem := range strings.SplitSeq(p, "/") {
		if elem == ".." {
			return true
		}
	}
	return false
}
