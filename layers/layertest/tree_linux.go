package layertest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TreeOptions selects what [Tree] records.
type TreeOptions struct {
	// NoOwners leaves out uid and gid (for unprivileged extraction, where
	// everything belongs to the caller).
	NoOwners bool
	// NoTimes leaves out modification times.
	NoTimes bool
	// NoRootMeta leaves out the mode, owner and time of the root itself.
	NoRootMeta bool
}

// Tree describes every file under dir, one line per path, sorted: type,
// mode, owner, size, content hash, link target, device numbers, xattrs
// (except trusted.overlay.*) and mtime, and for hardlinked files the first
// path sharing the inode. Two trees with equal descriptions are equal in
// everything a layer carries.
func Tree(t testing.TB, dir string, opts TreeOptions) []string {
	t.Helper()
	var out []string
	inodes := map[uint64]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		line, err := describe(p, rel, inodes, opts)
		if err != nil {
			return err
		}
		out = append(out, line)
		return nil
	})
	if err != nil {
		t.Fatalf("describing tree %s: %v", dir, err)
	}
	sort.Strings(out)
	return out
}

func describe(p, rel string, inodes map[uint64]string, opts TreeOptions) (string, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %o", rel, fileType(st.Mode), st.Mode&0o7777)
	isRoot := rel == "."
	if !opts.NoOwners && !(isRoot && opts.NoRootMeta) {
		fmt.Fprintf(&b, " %d:%d", st.Uid, st.Gid)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		data, err := os.ReadFile(p)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&b, " size=%d sha=%s", len(data), hex.EncodeToString(sum[:6]))
		if st.Nlink > 1 {
			if first, ok := inodes[st.Ino]; ok {
				fmt.Fprintf(&b, " link=%s", first)
			} else {
				inodes[st.Ino] = rel
			}
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, " -> %s", target)
	case unix.S_IFCHR, unix.S_IFBLK:
		fmt.Fprintf(&b, " dev=%d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	xs, err := xattrs(p)
	if err != nil {
		return "", err
	}
	for _, x := range xs {
		fmt.Fprintf(&b, " %s", x)
	}
	if !opts.NoTimes && st.Mode&unix.S_IFMT != unix.S_IFLNK && !(isRoot && opts.NoRootMeta) {
		fmt.Fprintf(&b, " mtime=%d", st.Mtim.Sec)
	}
	return b.String(), nil
}

func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFCHR:
		return "char"
	case unix.S_IFBLK:
		return "block"
	case unix.S_IFIFO:
		return "fifo"
	}
	return "other"
}

func xattrs(p string) ([]string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil {
		if err == unix.ENOTSUP {
			return nil, nil
		}
		return nil, &fs.PathError{Op: "llistxattr", Path: p, Err: err}
	}
	var out []string
	for _, k := range strings.Split(string(buf[:n]), "\x00") {
		if k == "" || strings.HasPrefix(k, "trusted.overlay.") || strings.HasPrefix(k, "security.selinux") {
			continue
		}
		v := make([]byte, 4096)
		m, err := unix.Lgetxattr(p, k, v)
		if err != nil {
			return nil, &fs.PathError{Op: "lgetxattr", Path: p, Err: err}
		}
		out = append(out, fmt.Sprintf("xattr:%s=%q", k, v[:m]))
	}
	sort.Strings(out)
	return out, nil
}
