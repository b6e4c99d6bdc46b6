package namespaces_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/namespaces"
)

// prepare changes the child's world before Setup, as spec says:
// "ramfs:DIR" mounts a ramfs on DIR, copies the rootfs into it, mounts
// /proc and binds /dev there, and chroots into it, so that "/" is a ramfs
// directory that is not a mount point, as in an initramfs, where
// pivot_root(2) fails with EINVAL. It checks that it does.
func prepare(spec string, r *namespaces.RootFS) error {
	dir, ok := strings.CutPrefix(spec, "ramfs:")
	if !ok {
		return fmt.Errorf("unknown preparation %q", spec)
	}
	if err := unix.Mount("ramfs", dir, "ramfs", 0, ""); err != nil {
		return fmt.Errorf("mounting ramfs: %w", err)
	}
	sub := filepath.Join(dir, "sub")
	for _, d := range []string{sub + "/proc", sub + "/dev"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := copyTree(r.Path, sub+"/rootfs"); err != nil {
		return err
	}
	if err := unix.Mount("proc", sub+"/proc", "proc", 0, ""); err != nil {
		return fmt.Errorf("mounting proc: %w", err)
	}
	if err := unix.Mount("/dev", sub+"/dev", "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("binding /dev: %w", err)
	}
	if err := unix.Chroot(sub); err != nil {
		return err
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	r.Path = "/rootfs"
	return checkPivotFails(r.Path)
}

// checkPivotFails shows that pivot_root cannot work here, so that Setup
// must take its fallback.
func checkPivotFails(root string) error {
	if err := unix.Mount(root, root, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	defer unix.Unmount(root, unix.MNT_DETACH)
	if err := os.Chdir(root); err != nil {
		return err
	}
	defer os.Chdir("/")
	err := unix.PivotRoot(".", ".")
	fmt.Printf("pivot_root precheck: %s\n", errnoName(err))
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("pivot_root here gave %v, want EINVAL", err)
	}
	return nil
}

// copyTree copies directories, regular files and symlinks from src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		default:
			return copyFile(p, target, info.Mode().Perm())
		}
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}
