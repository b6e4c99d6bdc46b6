package main

import (
	"archive/tar"
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
)

// exportContainer writes the filesystem of the container st describes to
// w as a tar archive. A running (or paused) container is read through
// /proc/PID/root, its mount points (other than /) left empty; a stopped
// one by mounting its snapshot in a mount namespace private to this
// goroutine's thread, so that nothing stays mounted if berth dies.
func exportContainer(ctx context.Context, st *berth.State, w io.Writer) error {
	if (st.Status == berth.StatusRunning || st.Status == berth.StatusPaused) && st.PID > 0 {
		root := fmt.Sprintf("/proc/%d/root", st.PID)
		skip, err := mountPoints(fmt.Sprintf("/proc/%d/mountinfo", st.PID))
		if err != nil {
			return fmt.Errorf("exporting container %s: %w", st.ID, err)
		}
		return writeTree(ctx, w, root, skip)
	}
	if len(st.RootFSMounts) == 0 {
		return writeTree(ctx, w, st.RootFS, nil)
	}
	errc := make(chan error, 1)
	go func() { errc <- exportMounted(ctx, st, w) }() // its thread ends with it
	return <-errc
}

// exportMounted mounts the container's snapshot in a new mount namespace
// of the calling thread, which it never unlocks: the thread, and with it
// the namespace and the mount, end with the goroutine.
func exportMounted(ctx context.Context, st *berth.State, w io.Writer) error {
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return &fs.PathError{Op: "unshare", Path: "mount namespace", Err: err}
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return &fs.PathError{Op: "mount", Path: "/", Err: err}
	}
	dir, err := os.MkdirTemp("", "berth-export-")
	if err != nil {
		return err
	}
	defer os.Remove(dir)
	ms := make([]layers.Mount, len(st.RootFSMounts))
	for i, m := range st.RootFSMounts {
		m.Options = append(append([]string{}, m.Options...), "ro")
		ms[i] = m
	}
	if err := layers.MountAll(ms, dir); err != nil {
		return fmt.Errorf("mounting the snapshot of container %s: %w", st.ID, err)
	}
	defer layers.UnmountAll(ms, dir)
	return writeTree(ctx, w, dir, nil)
}

// mountPoints reads the mount points of a mountinfo file, as paths
// relative to the process's root ("proc", "etc/hosts"), without the root.
func mountPoints(mountinfo string) (map[string]bool, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := strings.TrimPrefix(path.Clean(unescapeMountinfo(fields[4])), "/")
		if p != "" {
			out[p] = true
		}
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of
// mountinfo's path fields.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// writeTree writes the tree under dir to w as a tar archive, in
// lexical order, confined to dir (os.Root: no symbolic link leads out).
// Entries in skip are written as empty directories or files, their
// contents left out. Hard links are kept as links.
func writeTree(ctx context.Context, w io.Writer, dir string, skip map[string]bool) (retErr error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{}
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		return writeEntry(tw, root, name, skip[name], links)
	})
	if err != nil {
		return fmt.Errorf("exporting %s: %w", dir, err)
	}
	return tw.Close()
}

// writeEntry writes one file of root; a skipped one (a mount point) is
// written empty and, if a directory, not descended into.
func writeEntry(tw *tar.Writer, root *os.Root, name string, skipped bool, links map[[2]uint64]string) error {
	fi, err := root.Lstat(name)
	if err != nil {
		return err
	}
	var target string
	if fi.Mode()&fs.ModeSymlink != 0 {
		if target, err = root.Readlink(name); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, target)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	hdr.Name, hdr.Uname, hdr.Gname = name, "", ""
	if fi.IsDir() {
		hdr.Name += "/"
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().IsRegular() && st != nil && st.Nlink > 1 && !skipped {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return tw.WriteHeader(hdr)
		}
		links[key] = name
	}
	if skipped {
		hdr.Size = 0
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.IsDir() {
			return fs.SkipDir
		}
		return nil
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return copyRegular(tw, root, name, hdr.Size)
}

// copyRegular copies exactly size bytes of the regular file name. It
// opens without blocking and checks the file is still a regular file (a
// running container may have replaced it with a FIFO).
func copyRegular(w io.Writer, root *os.Root, name string, size int64) error {
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: no longer a regular file: %w", name, fs.ErrInvalid)
	}
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if n < size { // the file shrank while read: pad, as the header promised size
		_, err = io.CopyN(w, zeroReader{}, size-n)
	}
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
