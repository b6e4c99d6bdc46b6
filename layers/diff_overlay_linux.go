package layers

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"

	"golang.org/x/sys/unix"
)

// overlayDir writes directory rel of an overlay upper dir, open as dirfd
// (which it closes): whiteout devices become whiteouts, an opaque
// directory gets its marker. Children are looked up relative to dirfd.
func (d *differ) overlayDir(rel string, dirfd int) error {
	dir := os.NewFile(uintptr(dirfd), joinAbs(d.upper, rel))
	defer dir.Close()
	ents, err := dir.ReadDir(-1)
	if err != nil {
		return err
	}
	if rel != "" {
		if v, err := getXattrWith("trusted.overlay.opaque", func(k string, b []byte) (int, error) {
			return unix.Fgetxattr(dirfd, k, b)
		}); err == nil && v == "y" {
			if err := d.writeMarker(path.Join(rel, opaqueMarker)); err != nil {
				return err
			}
		}
	}
	nodes := make([]node, 0, len(ents))
	for _, e := range ents {
		n := node{rel: path.Join(rel, e.Name()), fd: -1}
		n.abs = joinAbs(d.upper, n.rel)
		if e.Type().IsRegular() {
			// A prefetch worker stats it through its open fd.
			n.st.Mode = unix.S_IFREG
		} else if err := unix.Fstatat(dirfd, e.Name(), &n.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "lstat", Path: n.abs, Err: err}
		}
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(a, b int) bool { return overlayOutName(&nodes[a]) < overlayOutName(&nodes[b]) })
	dp := d.prefetch.forDir(dirfd, nodes)
	defer dp.close() // before dir.Close: the jobs use dirfd
	for i := range nodes {
		if err := d.overlayNode(&nodes[i], dirfd, dp, i); err != nil {
			return err
		}
	}
	return nil
}

// openUpper opens the top of the upper dir for overlayDir.
func (d *differ) openUpper() (int, error) {
	fd, err := unix.Open(d.upper, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: d.upper, Err: err}
	}
	return fd, nil
}

func isWhiteoutDevice(n *node) bool {
	return n.st.Mode&unix.S_IFMT == unix.S_IFCHR && n.st.Rdev == 0
}

func overlayOutName(n *node) string {
	_, base := splitName(n.rel)
	if isWhiteoutDevice(n) {
		return whiteoutPrefix + base
	}
	return base
}

func (d *differ) overlayNode(n *node, dirfd int, dp *dirPrefetch, i int) error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	if isWhiteoutDevice(n) {
		return d.writeWhiteout(n.rel)
	}
	_, base := splitName(n.rel)
	if f := dp.get(i); f != nil {
		defer dp.done(f)
		return d.writePrefetched(n, f)
	}
	if !n.isDir() {
		return d.writeHeaderAt(n, dirfd, base)
	}
	fd, err := openNode(n, dirfd, base, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	n.fd = fd
	if err := d.writeHeader(n); err != nil {
		unix.Close(fd)
		return err
	}
	return d.overlayDir(n.rel, fd)
}

// writePrefetched writes a regular file a worker has opened and read
// ahead.
func (d *differ) writePrefetched(n *node, f *prefetch) error {
	<-f.done
	if f.err != nil {
		return f.err
	}
	n.st, n.xattrs, n.haveXattrs, n.fd = f.st, f.xs, true, f.fd
	defer func() { n.fd = -1 }()
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
	if _, err := d.tw.Write(f.data); err != nil {
		return fmt.Errorf("writing %q: %w", n.rel, err)
	}
	if rest := hdr.Size - int64(len(f.data)); rest > 0 {
		return d.copyContent(n, rest)
	}
	return nil
}
