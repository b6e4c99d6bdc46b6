package namespaces

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"

	"golang.org/x/sys/unix"
)

// WriteIDMaps writes the user and group ID maps of process pid, which must
// have created a user namespace and not yet have maps. Either list may be
// empty, leaving that map alone. Each list holds one or more ranges, none
// overlapping another on either side, at most 340.
//
// How depends on the caller: as root (euid 0), it writes
// /proc/PID/uid_map and gid_map directly. Otherwise, when newuidmap(1) and
// newgidmap(1) are on PATH, they write the maps within the ranges
// /etc/subuid and /etc/subgid grant. Otherwise it writes the maps directly,
// which the kernel allows only for a single range mapping the caller's own
// ID, and for gids only after "deny" is written to /proc/PID/setgroups,
// which WriteIDMaps does; setgroups(2) then fails in the namespace.
//
// It wraps [fs.ErrInvalid] for a bad map and [fs.ErrPermission] when the
// kernel refuses one.
func WriteIDMaps(pid int, uids, gids []IDMap) error {
	return writeIDMaps(pid, uids, gids, idMapEnv{euid: os.Geteuid(), lookPath: exec.LookPath})
}

// idMapEnv is what WriteIDMaps depends on, so that tests can choose a path.
type idMapEnv struct {
	euid     int
	lookPath func(string) (string, error)
	procRoot string // "" means /proc
}

func writeIDMaps(pid int, uids, gids []IDMap, env idMapEnv) error {
	uidText, gidText, err := formatBoth(uids, gids)
	if err != nil {
		return fmt.Errorf("writing ID maps of pid %d: %w", pid, err)
	}
	if env.euid != 0 {
		newuidmap, err1 := env.lookPath("newuidmap")
		newgidmap, err2 := env.lookPath("newgidmap")
		if err1 == nil && err2 == nil {
			return writeWithHelpers(pid, uids, gids, newuidmap, newgidmap)
		}
	}
	dir := env.procRoot
	if dir == "" {
		dir = "/proc"
	}
	dir += "/" + strconv.Itoa(pid)
	if uidText != "" {
		if err := writeProcFile(dir+"/uid_map", uidText); err != nil {
			return fmt.Errorf("writing uid map of pid %d: %w", pid, err)
		}
	}
	if gidText == "" {
		return nil
	}
	if env.euid != 0 {
		if err := writeProcFile(dir+"/setgroups", "deny"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("denying setgroups of pid %d: %w", pid, err)
		}
	}
	if err := writeProcFile(dir+"/gid_map", gidText); err != nil {
		return fmt.Errorf("writing gid map of pid %d: %w", pid, err)
	}
	return nil
}

func formatBoth(uids, gids []IDMap) (string, string, error) {
	var uidText, gidText string
	var err error
	if len(uids) > 0 {
		if uidText, err = formatIDMaps(uids); err != nil {
			return "", "", fmt.Errorf("uid map: %w", err)
		}
	}
	if len(gids) > 0 {
		if gidText, err = formatIDMaps(gids); err != nil {
			return "", "", fmt.Errorf("gid map: %w", err)
		}
	}
	return uidText, gidText, nil
}

// writeProcFile writes text to an existing file in one write(2), as the
// kernel requires of ID maps.
func writeProcFile(path, text string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, []byte(text))
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	if n != len(text) {
		return &fs.PathError{Op: "write", Path: path, Err: unix.EIO}
	}
	return nil
}

func writeWithHelpers(pid int, uids, gids []IDMap, newuidmap, newgidmap string) error {
	if len(uids) > 0 {
		if err := runHelper(newuidmap, helperArgs(pid, uids)); err != nil {
			return fmt.Errorf("writing uid map of pid %d: %w", pid, err)
		}
	}
	if len(gids) > 0 {
		if err := runHelper(newgidmap, helperArgs(pid, gids)); err != nil {
			return fmt.Errorf("writing gid map of pid %d: %w", pid, err)
		}
	}
	return nil
}

func runHelper(path string, args []string) error {
	var stderr bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s: %w: %s", path, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
