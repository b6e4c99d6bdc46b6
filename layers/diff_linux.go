package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// differ holds the state of one Diff.
type differ struct {
	ctx          context.Context
	tw           *tar.Writer
	opts         *DiffOptions
	lower, upper string
	links        map[uint64]string // inode in upper -> first name written
	prefetch     *prefetcher       // overlay fast path only
	pending      []pendingDir      // unchanged parents, written before a changed child
	buf          []byte
}

type pendingDir struct {
	rel     string
	written bool
}

// node is one path under a tree, with its lstat result. fd, when not -1,
// is an open descriptor of it (regular files and directories being
// written) from which xattrs are read without another path lookup.
type node struct {
	rel string
	abs string
	st  unix.Stat_t
	fd  int
	// xattrs were read already (by a prefetch worker) if haveXattrs.
	xattrs     map[string]string
	haveXattrs bool
}

func lstatNode(root, rel string) (node, error) {
	n := node{rel: rel, abs: joinAbs(root, rel), fd: -1}
	if err := unix.Lstat(n.abs, &n.st); err != nil {
		return n, &fs.PathError{Op: "lstat", Path: n.abs, Err: err}
	}
	return n, nil
}

func joinAbs(root, rel string) string {
	if rel == "" {
		return root
	}
	return root + "/" + rel
}

func (n *node) isDir() bool { return n.st.Mode&unix.S_IFMT == unix.S_IFDIR }

func (d *differ) run() error {
	if d.opts.OverlayUpper {
		fd, err := d.openUpper()
		if err != nil {
			return err
		}
		d.prefetch = newPrefetcher(2)
		defer d.prefetch.close()
		return d.overlayDir("", fd)
	}
	return d.compareDir("")
}

// readNames lists a directory, sorted; a missing or non-directory lower
// gives no names.
func readNames(dir string, missingOK bool) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		if missingOK && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR)) {
			return nil, nil
		}
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

// change is one thing to write for a directory entry, sorted by tar name.
type change struct {
	out     string // the name in the tar, for sorting
	name    string
	kind    int
	isDir   bool
	changed bool
}

const (
	addTree = iota
	whiteOut
	compareTree
	opaqueDir
)

// compareDir writes the changes inside directory rel, which exists in
// upper (and maybe in lower).
func (d *differ) compareDir(rel string) error {
	up, err := readNames(joinAbs(d.upper, rel), false)
	if err != nil {
		return err
	}
	var low []string
	if d.lower != "" {
		if low, err = readNames(joinAbs(d.lower, rel), true); err != nil {
			return err
		}
	}
	changes, err := d.mergeNames(rel, up, low)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		child := path.Join(rel, c.name)
		switch c.kind {
		case whiteOut:
			err = d.writeWhiteout(child)
		case addTree:
			err = d.writeTree(child)
		case compareTree:
			err = d.compareChild(child, c.changed)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mergeNames pairs the sorted names of a directory in upper and lower.
func (d *differ) mergeNames(rel string, up, low []string) ([]change, error) {
	var out []change
	i, j := 0, 0
	for i < len(up) || j < len(low) {
		switch {
		case j >= len(low) || (i < len(up) && up[i] < low[j]):
			out = append(out, change{out: up[i], name: up[i], kind: addTree})
			i++
		case i >= len(up) || low[j] < up[i]:
			out = append(out, change{out: whiteoutPrefix + low[j], name: low[j], kind: whiteOut})
			j++
		default:
			c, err := d.pair(path.Join(rel, up[i]))
			if err != nil {
				return nil, err
			}
			c.out, c.name = up[i], up[i]
			out = append(out, c)
			i, j = i+1, j+1
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].out < out[b].out })
	return out, nil
}

// pair decides what a path present in both trees needs.
func (d *differ) pair(rel string) (change, error) {
	u, err := lstatNode(d.upper, rel)
	if err != nil {
		return change{}, err
	}
	l, err := lstatNode(d.lower, rel)
	if err != nil {
		return change{}, err
	}
	if u.isDir() && l.isDir() {
		same, err := sameMeta(&u, &l)
		return change{kind: compareTree, changed: !same}, err
	}
	same, err := sameNode(&u, &l)
	if err != nil || same {
		return change{kind: compareTree, changed: false}, err
	}
	return change{kind: addTree}, nil
}

// compareChild handles a path in both trees: a directory is compared
// recursively (written first if its own metadata changed, else only if a
// child changed); an unchanged non-directory is skipped.
func (d *differ) compareChild(rel string, changed bool) error {
	u, err := lstatNode(d.upper, rel)
	if err != nil {
		return err
	}
	if !u.isDir() {
		return nil
	}
	if changed {
		if err := d.writeNode(&u); err != nil {
			return err
		}
		return d.compareDir(rel)
	}
	d.pending = append(d.pending, pendingDir{rel: rel})
	err = d.compareDir(rel)
	d.pending = d.pending[:len(d.pending)-1]
	return err
}

// flushPending writes the unchanged parent directories of the entry about
// to be written.
func (d *differ) flushPending() error {
	for i := range d.pending {
		p := &d.pending[i]
		if p.written {
			continue
		}
		p.written = true
		n, err := lstatNode(d.upper, p.rel)
		if err != nil {
			return err
		}
		if err := d.writeHeader(&n); err != nil {
			return err
		}
	}
	return nil
}

// writeTree writes the upper path rel and, for a directory, all of it.
func (d *differ) writeTree(rel string) error {
	n, err := lstatNode(d.upper, rel)
	if err != nil {
		return err
	}
	if err := d.writeNode(&n); err != nil || !n.isDir() {
		return err
	}
	names, err := readNames(n.abs, false)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		if err := d.writeTree(path.Join(rel, name)); err != nil {
			return err
		}
	}
	return nil
}

func (d *differ) writeNode(n *node) error {
	if err := d.flushPending(); err != nil {
		return err
	}
	return d.writeHeader(n)
}

func (d *differ) writeWhiteout(rel string) error {
	if err := d.flushPending(); err != nil {
		return err
	}
	dir, base := splitName(rel)
	return d.writeMarker(path.Join(dir, whiteoutPrefix+base))
}

func (d *differ) writeMarker(name string) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, ModTime: whiteoutTime, Format: tar.FormatPAX}
	if err := d.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing %q: %w", name, err)
	}
	return nil
}

// writeHeader writes the tar entry of n and, for a regular file not yet
// written under another name, its content. A regular file is opened
// first (relative to dirfd when it is not -1), so its xattrs and content
// come from one descriptor.
func (d *differ) writeHeader(n *node) error {
	return d.writeHeaderAt(n, -1, "")
}

func (d *differ) writeHeaderAt(n *node, dirfd int, name string) error {
	if n.st.Mode&unix.S_IFMT == unix.S_IFREG && n.fd < 0 {
		fd, err := openNode(n, dirfd, name, unix.O_RDONLY)
		if err != nil {
			return err
		}
		n.fd = fd
		defer func() { unix.Close(fd); n.fd = -1 }()
	}
	hdr, err := d.header(n)
	if err != nil || hdr == nil {
		return err
	}
	if err := d.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("writing %q: %w", hdr.Name, err)
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	return d.copyContent(n, hdr.Size)
}

// openNode opens n (relative to dirfd if it is not -1) without following
// a symlink.
func openNode(n *node, dirfd int, name string, flags int) (int, error) {
	if dirfd < 0 {
		dirfd, name = unix.AT_FDCWD, n.abs
	}
	fd, err := unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: n.abs, Err: err}
	}
	return fd, nil
}

func (d *differ) copyContent(n *node, size int64) error {
	for size > 0 {
		b := d.buf
		if int64(len(b)) > size {
			b = b[:size]
		}
		m, err := unix.Read(n.fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "read", Path: n.abs, Err: err}
		}
		if m == 0 {
			return fmt.Errorf("reading %s: %w (file shrank while being read)", n.abs, io.ErrUnexpectedEOF)
		}
		if _, err := d.tw.Write(b[:m]); err != nil {
			return fmt.Errorf("writing %q: %w", n.rel, err)
		}
		size -= int64(m)
	}
	return nil
}

// header builds the tar header of n; nil for sockets, which a layer
// cannot carry.
func (d *differ) header(n *node) (*tar.Header, error) {
	st := &n.st
	hdr := &tar.Header{Name: n.rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: d.clamp(time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)))}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if st.Nlink > 1 {
			if first, ok := d.links[st.Ino]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				d.links[st.Ino] = n.rel
			}
		}
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, n.rel+"/"
	case unix.S_IFLNK:
		target, err := os.Readlink(n.abs)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil, nil
	}
	xs, err := n.xattrs, error(nil)
	switch {
	case n.haveXattrs: // read ahead by a prefetch worker
	case n.fd >= 0:
		xs, err = fdXattrs(n.fd, n.abs)
	default:
		xs, err = listXattrs(n.abs)
	}
	if err != nil {
		return nil, err
	}
	for k, v := range xs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
			hdr.Format = tar.FormatPAX
		}
		hdr.PAXRecords[xattrPrefix+k] = v
	}
	return hdr, nil
}

// sameMeta compares what a layer records about a path, except content.
func sameMeta(u, l *node) (bool, error) {
	a, b := &u.st, &l.st
	if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Rdev != b.Rdev ||
		a.Mtim != b.Mtim || (a.Mode&unix.S_IFMT != unix.S_IFDIR && a.Size != b.Size) {
		return false, nil
	}
	ux, err := listXattrs(u.abs)
	if err != nil {
		return false, err
	}
	lx, err := listXattrs(l.abs)
	if err != nil || len(ux) != len(lx) {
		return false, err
	}
	for k, v := range ux {
		if w, ok := lx[k]; !ok || w != v {
			return false, nil
		}
	}
	return true, nil
}

// sameNode compares two non-directory paths, content included where the
// metadata cannot tell.
func sameNode(u, l *node) (bool, error) {
	same, err := sameMeta(u, l)
	if err != nil || !same {
		return false, err
	}
	switch u.st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		a, err := os.Readlink(u.abs)
		if err != nil {
			return false, err
		}
		b, err := os.Readlink(l.abs)
		return a == b, err
	case unix.S_IFREG:
		if u.st.Mtim.Nsec != 0 {
			return true, nil
		}
		return sameContent(u.abs, l.abs)
	}
	return true, nil
}

func sameContent(a, b string) (bool, error) {
	da, err := os.ReadFile(a)
	if err != nil {
		return false, err
	}
	db, err := os.ReadFile(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(da, db), nil
}
