package testutil

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func takeSnapshot() (*Snapshot, error) {
	s := &Snapshot{}
	var err error
	if s.Mounts, err = snapMounts(); err != nil {
		return nil, err
	}
	if s.FDs, err = snapFDs(); err != nil {
		return nil, err
	}
	s.Cgroups = snapCgroups()
	s.NetNS = snapNetNS()
	s.Links = snapLinks()
	s.Procs = snapProcs()
	return s, nil
}

func snapMounts() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		sep := slicesIndex(f, "-")
		if sep < 0 || len(f) < sep+3 || len(f) < 5 {
			continue
		}
		out = append(out, f[4]+" "+f[sep+1]+" "+f[sep+2])
	}
	return out, nil
}

func slicesIndex(f []string, s string) int {
	for i := range f {
		if f[i] == s {
			return i
		}
	}
	return -1
}

func snapFDs() ([]string, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory fd ReadDir used, already closed
		}
		if runtimeFD(target) || maskSourceFD("/proc/self/fd/"+e.Name(), target) {
			continue
		}
		out = append(out, e.Name()+" "+target)
	}
	return out, nil
}

// runtimeFD reports whether an fd target is one the process keeps for its
// whole life by design: the Go runtime's poller, and the sealed copy of the
// binary that namespaces.Command makes once and reuses.
func runtimeFD(target string) bool {
	return strings.HasPrefix(target, "anon_inode:[eventpoll]") ||
		strings.HasPrefix(target, "anon_inode:[eventfd]") ||
		strings.HasPrefix(target, "/memfd:berth-init")
}

// maskSourceFD reports whether the fd at path (its target read as
// target) is a namespaces mask source, which a program keeps for its
// whole life once it has started a container: the root of a read-only
// tmpfs mounted nowhere.
func maskSourceFD(path, target string) bool {
	var st unix.Statfs_t
	return target == "/" && unix.Statfs(path, &st) == nil &&
		uint32(st.Type) == unix.TMPFS_MAGIC && st.Flags&unix.ST_RDONLY != 0
}

// snapCgroups lists directories with "berth" in their name, at most four
// levels under each mounted cgroup hierarchy.
func snapCgroups() []string {
	ms, err := cgroupMounts()
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range ms {
		root := m.point
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			if rel != "." && strings.Count(rel, "/") >= 4 {
				return fs.SkipDir
			}
			// The default parent /berth is left in place on purpose.
			if strings.Contains(rel, "berth") && rel != "berth" {
				out = append(out, p)
			}
			return nil
		})
	}
	return out
}

func snapNetNS() []string {
	entries, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func snapLinks() []string {
	links, err := netlink.LinkList()
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range links {
		out = append(out, l.Attrs().Name)
	}
	return out
}

// testPIDEnv marks processes that inherited this test process's environment.
const testPIDEnv = "BERTH_TEST_PID"

// snapProcs lists this process's descendants and the processes that carry
// its BERTH_TEST_PID, which it sets on first use.
func snapProcs() []string {
	self := os.Getpid()
	mark := testPIDEnv + "=" + strconv.Itoa(self)
	if os.Getenv(testPIDEnv) != strconv.Itoa(self) {
		os.Setenv(testPIDEnv, strconv.Itoa(self))
	}
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if pp, ok := readPPID(pid); ok {
			parent[pid] = pp
			pids = append(pids, pid)
		}
	}
	var out []string
	for _, pid := range pids {
		if descends(pid, self, parent) || hasEnv(pid, mark) {
			out = append(out, strconv.Itoa(pid)+" "+argv0(pid))
		}
	}
	return out
}

func descends(pid, ancestor int, parent map[int]int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		pp, ok := parent[pid]
		if !ok {
			return false
		}
		if pp == ancestor {
			return true
		}
		pid = pp
	}
	return false
}

func readPPID(pid int) (int, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name is in parentheses and may hold spaces: parse after it.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}

func hasEnv(pid int, kv string) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for _, e := range bytes.Split(data, []byte{0}) {
		if string(e) == kv {
			return true
		}
	}
	return false
}

func argv0(pid int) string {
	data, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	return string(data)
}
