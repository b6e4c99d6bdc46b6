package berth

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/caps"
	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/internal/seccomp"
	"github.com/berthlabs/berth/internal/userdb"
)

// finish turns the calling thread, already inside the container's mount
// namespace with "/" its root, into the container process p: user,
// terminal, limits, capabilities, no_new_privs, working directory, fds,
// seccomp, then execve. It returns only on failure. hostIDs is set for an
// exec helper that could not join the container's user namespace: IDs are
// then mapped to the host's and every capability is dropped.
func finish(conn *initproto.Conn, p *initproto.Process, hostIDs *initproto.Exec) error {
	eu, err := lookupUser(p)
	if err != nil {
		return atStage(initproto.StageUser, err)
	}
	capSet := p.Caps
	if hostIDs != nil {
		if eu, err = mapToHost(eu, hostIDs); err != nil {
			return atStage(initproto.StageUser, err)
		}
		capSet = nil
	}
	env := withDefault(p.Env, "HOME", eu.Home)
	if p.TTY {
		if err := setupTTY(conn, eu); err != nil {
			return atStage(initproto.StageTTY, err)
		}
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return atStage(initproto.StageRlimits, err)
	}
	if err := caps.DropBounding(capSet, p.CapLast); err != nil {
		return atStage(initproto.StageCaps, err)
	}
	if p.Seccomp && !p.NoNewPrivileges {
		// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN,
		// which switching user and trimming capabilities take away.
		if err := seccomp.Load(capSet); err != nil {
			return atStage(initproto.StageSeccomp, err)
		}
	}
	if err := switchUser(eu); err != nil {
		return atStage(initproto.StageUser, err)
	}
	if err := caps.Set(capSet); err != nil {
		return atStage(initproto.StageCaps, err)
	}
	if err := chdir(p.Dir); err != nil {
		return atStage(initproto.StageCwd, err)
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return atStage(initproto.StageNoNewPriv, &fs.PathError{Op: "prctl PR_SET_NO_NEW_PRIVS", Path: "1", Err: err})
		}
	}
	return execProcess(conn, p, env, capSet)
}

func execProcess(conn *initproto.Conn, p *initproto.Process, env []string, capSet []int) error {
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return atStage(initproto.StageExec, err)
	}
	if err := hygieneFDs(p.ExtraFiles); err != nil {
		return atStage(initproto.StageFDs, err)
	}
	if p.Seccomp && p.NoNewPrivileges {
		if err := seccomp.Load(capSet); err != nil {
			return atStage(initproto.StageSeccomp, err)
		}
	}
	if err := conn.Send(initproto.Message{Type: "exec", PID: os.Getpid()}); err != nil {
		return atStage(initproto.StageHandshake, err)
	}
	err = syscall.Exec(path, p.Args, env)
	return atStage(initproto.StageExec, &fs.PathError{Op: "execve", Path: path, Err: err})
}

// lookupUser resolves p.User inside the container, whose root is "/".
func lookupUser(p *initproto.Process) (*userdb.ExecUser, error) {
	users, err := readDB("/etc/passwd", userdb.ParsePasswd)
	if err != nil {
		return nil, err
	}
	groups, err := readDB("/etc/group", userdb.ParseGroup)
	if err != nil {
		return nil, err
	}
	eu, err := userdb.Resolve(p.User, users, groups, p.AdditionalGroups)
	if errors.Is(err, userdb.ErrUnknownUser) {
		err = errors.Join(err, fs.ErrNotExist)
	}
	return eu, err
}

// readDB parses a database file of the container, which may be missing.
// It refuses anything but a regular file, so that a FIFO or device planted
// at /etc/passwd cannot block or feed the init.
func readDB[T any](path string, parse func(io.Reader) ([]T, error)) ([]T, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return parse(f)
}

func mapToHost(eu *userdb.ExecUser, x *initproto.Exec) (*userdb.ExecUser, error) {
	out := *eu
	var ok bool
	if out.UID, ok = initproto.ToHost(x.UIDMap, eu.UID); !ok {
		return nil, fmt.Errorf("uid %d is not mapped: %w", eu.UID, fs.ErrPermission)
	}
	if out.GID, ok = initproto.ToHost(x.GIDMap, eu.GID); !ok {
		return nil, fmt.Errorf("gid %d is not mapped: %w", eu.GID, fs.ErrPermission)
	}
	out.Groups = nil
	for _, g := range eu.Groups {
		if hg, ok := initproto.ToHost(x.GIDMap, g); ok {
			out.Groups = append(out.Groups, hg)
		}
	}
	return &out, nil
}

func setRlimits(limits []initproto.Rlimit) error {
	for _, l := range limits {
		rl := unix.Rlimit{Cur: l.Soft, Max: l.Hard}
		if err := unix.Prlimit(0, l.Type, &rl, nil); err != nil {
			return &fs.PathError{Op: "prlimit", Path: fmt.Sprintf("resource %d", l.Type), Err: err}
		}
	}
	return nil
}

// switchUser sets the calling thread's groups, gid and uid with raw
// per-thread syscalls (the thread then execs), keeping the permitted
// capabilities across the uid change for caps.Set to trim.
func switchUser(eu *userdb.ExecUser) error {
	if err := caps.SetKeepCaps(true); err != nil {
		return err
	}
	if err := setgroups(eu.Groups); err != nil {
		return err
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(eu.GID), uintptr(eu.GID), uintptr(eu.GID)); e != 0 {
		return &fs.PathError{Op: "setresgid", Path: fmt.Sprint(eu.GID), Err: e}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(eu.UID), uintptr(eu.UID), uintptr(eu.UID)); e != 0 {
		return &fs.PathError{Op: "setresuid", Path: fmt.Sprint(eu.UID), Err: e}
	}
	return caps.SetKeepCaps(false)
}

// setgroups replaces the supplementary groups. In a user namespace whose
// setgroups file says "deny" it fails with EPERM; an empty list is then
// not an error (there is nothing the process could be given).
func setgroups(groups []uint32) error {
	var ptr unsafe.Pointer
	if len(groups) > 0 {
		ptr = unsafe.Pointer(&groups[0])
	}
	_, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(ptr), 0)
	if e == unix.EPERM && len(groups) == 0 && setgroupsDenied() {
		return nil
	}
	if e != 0 {
		return &fs.PathError{Op: "setgroups", Path: fmt.Sprint(groups), Err: e}
	}
	return nil
}

func setgroupsDenied() bool {
	data, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(data)) == "deny"
}

// chdir enters dir and checks that the result is inside the container's
// root (CVE-2024-21626: a working directory reached through a leaked fd
// shows as "(unreachable)").
func chdir(dir string) error {
	if dir == "" {
		dir = "/"
	}
	if !filepath.IsAbs(dir) {
		return &fs.PathError{Op: "chdir", Path: dir, Err: errors.New("working directory must be absolute")}
	}
	if err := unix.Chdir(dir); err != nil {
		return &fs.PathError{Op: "chdir", Path: dir, Err: err}
	}
	wd, err := unix.Getwd()
	if err != nil {
		return &fs.PathError{Op: "getcwd", Path: dir, Err: err}
	}
	if !strings.HasPrefix(wd, "/") {
		return &fs.PathError{Op: "getcwd", Path: wd, Err: fs.ErrPermission}
	}
	return nil
}

// lookPath finds file as execve would, with the container's PATH, and
// checks that it is an executable regular file.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, checkExecutable(file)
	}
	pathEnv := DefaultPath
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var firstErr error
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		err := checkExecutable(p)
		if err == nil {
			return p, nil
		}
		if firstErr == nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", firstErr
	}
	return "", &fs.PathError{Op: "exec", Path: file, Err: fmt.Errorf("executable not found in PATH %q: %w", pathEnv, unix.ENOENT)}
}

func checkExecutable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return &fs.PathError{Op: "exec", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return &fs.PathError{Op: "exec", Path: path, Err: unix.EISDIR}
	}
	if err := unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, 0); err != nil {
		return &fs.PathError{Op: "exec", Path: path, Err: err}
	}
	return nil
}

// hygieneFDs moves the n extra files from fds 4.. down to 3.. and marks
// every other descriptor from 3+n up close-on-exec (CVE-2024-21626), so the
// program gets exactly stdin, stdout, stderr and its extra files.
func hygieneFDs(n int) error {
	for i := range n {
		if err := unix.Dup3(4+i, 3+i, 0); err != nil {
			return &fs.PathError{Op: "dup3", Path: fmt.Sprintf("fd %d", 4+i), Err: err}
		}
	}
	first := uint(3 + n)
	err := unix.CloseRange(first, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	if err != unix.ENOSYS && err != unix.EINVAL {
		return &fs.PathError{Op: "close_range", Path: fmt.Sprintf("fd %d..", first), Err: err}
	}
	return cloexecFrom(int(first)) // before Linux 5.11
}

func cloexecFrom(first int) error {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, name := range names {
		var fd int
		if _, err := fmt.Sscan(name, &fd); err != nil || fd < first {
			continue
		}
		unix.CloseOnExec(fd)
	}
	return nil
}
