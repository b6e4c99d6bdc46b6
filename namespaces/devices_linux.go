package namespaces

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

func (s *setup) makeDevices() error {
	userns := inUserNamespace()
	dirs := &dirCache{root: s.rootfd, fd: -1}
	defer dirs.close()
	for _, d := range s.r.Devices {
		if err := s.makeDevice(d, userns, dirs); err != nil {
			return fmt.Errorf("device %q: %w", d.Path, err)
		}
	}
	return nil
}

// dirCache keeps the directory of the last device open, resolved in the
// root, for the next device in the same directory.
type dirCache struct {
	root int
	dir  string
	fd   int
}

func (c *dirCache) open(dir string) (int, error) {
	if c.fd >= 0 && c.dir == dir {
		return c.fd, nil
	}
	c.close()
	fd, err := walk(c.root, dir, walkMkdir, 0o755, true)
	if err != nil {
		return -1, err
	}
	c.dir, c.fd = dir, fd
	return fd, nil
}

func (c *dirCache) close() {
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// makeDevice creates d with mknod(2) in its directory, resolved in the
// root. In a user namespace, or when mknod is refused with EPERM, it binds
// the host's node at the same path onto an empty file instead.
func (s *setup) makeDevice(d Device, userns bool, dirs *dirCache) error {
	clean := path.Clean("/" + d.Path)
	dir, name := path.Split(clean)
	dirfd, err := dirs.open(dir)
	if err != nil {
		return err
	}
	mode := uint32(d.Mode.Perm())
	if mode == 0 {
		mode = 0o666
	}
	typ := map[rune]uint32{'c': unix.S_IFCHR, 'b': unix.S_IFBLK, 'p': unix.S_IFIFO}[d.Type]
	dev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if d.Type == 'p' {
		dev = 0
	}
	if !userns || d.Type == 'p' {
		err := unix.Mknodat(dirfd, name, typ|mode, int(dev))
		if errors.Is(err, unix.EEXIST) {
			err = checkExistingNode(dirfd, name, clean, typ, dev, mode)
		}
		if err == nil {
			return chownNode(dirfd, name, clean, d)
		}
		if !errors.Is(err, unix.EPERM) || d.Type == 'p' {
			return &fs.PathError{Op: "mknod", Path: clean, Err: err}
		}
	}
	return bindHostDevice(dirfd, name, clean, typ, dev)
}

// checkExistingNode accepts a node already at name if it is the same kind
// of node with the same number, and sets its mode; anything else (a
// symlink, a file) is an error wrapping fs.ErrExist.
func checkExistingNode(dirfd int, name, clean string, typ uint32, dev uint64, mode uint32) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != typ || (typ != unix.S_IFIFO && st.Rdev != dev) {
		return fmt.Errorf("something else is there: %w", fs.ErrExist)
	}
	return unix.Fchmodat(dirfd, name, mode, 0)
}

func chownNode(dirfd int, name, clean string, d Device) error {
	if err := unix.Fchownat(dirfd, name, int(d.UID), int(d.GID), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "chown", Path: clean, Err: err}
	}
	return nil
}

// bindHostDevice binds the host's node at clean onto an empty file name in
// dirfd, after checking that the host node is the device asked for.
func bindHostDevice(dirfd int, name, clean string, typ uint32, dev uint64) error {
	var st unix.Stat_t
	if err := unix.Stat(clean, &st); err != nil {
		return &fs.PathError{Op: "stat host device", Path: clean, Err: err}
	}
	if st.Mode&unix.S_IFMT != typ || st.Rdev != dev {
		return &fs.PathError{Op: "bind host device", Path: clean, Err: errors.New("the host's node is another device")}
	}
	fd, err := unix.Openat(dirfd, name, unix.O_CREAT|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return &fs.PathError{Op: "create", Path: clean, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Mount(clean, fdPath(fd), "", unix.MS_BIND, ""); err != nil {
		return &fs.PathError{Op: "mount bind", Path: clean, Err: err}
	}
	return nil
}

// inUserNamespace reports whether the process is in a user namespace other
// than the initial one, whose uid_map is the full identity map.
func inUserNamespace() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	return strings.Join(strings.Fields(string(data)), " ") != "0 0 4294967295"
}

// devLinks are the symlinks Setup adds to /dev.
var devLinks = [][2]string{
	{"ptmx", "pts/ptmx"},
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// makeDevLinks adds the devLinks to /dev where nothing is at their names.
// Without a /dev in the root it does nothing.
func (s *setup) makeDevLinks() error {
	devfd, err := walk(s.rootfd, "/dev", walkNoCreate, 0, true)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(devfd)
	for _, l := range devLinks {
		err := unix.Symlinkat(l[1], devfd, l[0])
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return &fs.PathError{Op: "symlink", Path: "/dev/" + l[0], Err: err}
		}
	}
	return nil
}
