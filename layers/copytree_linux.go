package layers

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copier copies a tree with everything a layer carries: types, owners
// (as root), modes, times, xattrs, and hardlinks kept as hardlinks.
type copier struct {
	ctx   context.Context
	root  bool
	links map[uint64]string // source inode -> first copy
}

// copyTree copies the directory src to the new path dst.
func copyTree(ctx context.Context, src, dst string) error {
	c := &copier{ctx: ctx, root: os.Geteuid() == 0, links: map[uint64]string{}}
	return c.copy(src, dst)
}

func (c *copier) copy(src, dst string) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: src, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return c.copyDir(src, dst, &st)
	case unix.S_IFREG:
		if st.Nlink > 1 {
			if first, ok := c.links[st.Ino]; ok {
				if err := os.Link(first, dst); err != nil {
					return err
				}
				return nil
			}
			c.links[st.Ino] = dst
		}
		if err := copyFile(src, dst); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return &fs.PathError{Op: "mknod", Path: dst, Err: err}
		}
	default:
		return nil // sockets are not copied
	}
	return c.metadata(src, dst, &st)
}

func (c *copier) copyDir(src, dst string, st *unix.Stat_t) error {
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	names, err := readNames(src, false)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := c.copy(filepath.Join(src, n), filepath.Join(dst, n)); err != nil {
			return err
		}
	}
	return c.metadata(src, dst, st)
}

func copyFile(src, dst string) (retErr error) {
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err := out.Close(); err != nil && retErr == nil {
			retErr = err
		}
	}()
	_, err = io.Copy(out, in) // copy_file_range where the kernel can
	return err
}

func (c *copier) metadata(src, dst string, st *unix.Stat_t) error {
	if c.root {
		if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
			return &fs.PathError{Op: "lchown", Path: dst, Err: err}
		}
	}
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if !isLink {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return &fs.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	xs, err := listXattrs(src)
	if err != nil {
		return err
	}
	for k, v := range xs {
		if err := unix.Lsetxattr(dst, k, []byte(v), 0); err != nil {
			return &fs.PathError{Op: "lsetxattr " + k, Path: dst, Err: err}
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimensat", Path: dst, Err: err}
	}
	return nil
}

// diskUsage sums the blocks and inodes under dir, counting hardlinked
// files once.
func diskUsage(ctx context.Context, dir string) (Usage, error) {
	var u Usage
	seen := map[uint64]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &fs.PathError{Op: "lstat", Path: p, Err: err}
		}
		if seen[st.Ino] {
			return nil
		}
		seen[st.Ino] = true
		u.Inodes++
		u.Size += st.Blocks * 512
		return nil
	})
	return u, err
}
