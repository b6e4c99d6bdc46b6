package namespaces_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/namespaces"
)

func init() {
	namespaces.Register("test-rootfs", rootfsEntrypoint)
}

// rootfsEntrypoint runs RootFS.Setup with the RootFS given as JSON in
// os.Args[1], then each check in os.Args[2:], printing "check: result".
// A Setup failure is printed as "setup: error" and ends the run.
func rootfsEntrypoint(context.Context) error {
	var r namespaces.RootFS
	if err := json.Unmarshal([]byte(os.Args[1]), &r); err != nil {
		return err
	}
	if os.Getenv("TEST_ROOTFS_MASK_SOURCE") != "" {
		r.MaskSource = os.NewFile(3, "mask-source") // runSetup's ExtraFiles[0]
	}
	if pre := os.Getenv("TEST_ROOTFS_PREPARE"); pre != "" {
		if err := prepare(pre, &r); err != nil {
			return fmt.Errorf("preparing %s: %w", pre, err)
		}
	}
	if err := r.Setup(); err != nil {
		fmt.Printf("setup: %v\n", err)
		fmt.Printf("setup errno: %s\n", errnoName(err))
		return nil
	}
	fmt.Println("setup: ok")
	for _, c := range os.Args[2:] {
		fmt.Printf("%s: %s\n", c, runCheck(c))
	}
	return nil
}

// runCheck performs one check inside the new root.
func runCheck(c string) string {
	verb, arg, _ := strings.Cut(c, " ")
	switch verb {
	case "ls":
		entries, err := os.ReadDir(arg)
		if err != nil {
			return "ERR " + errnoName(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return strings.Join(names, " ")
	case "read":
		data, err := os.ReadFile(arg)
		if err != nil {
			return "ERR " + errnoName(err)
		}
		return fmt.Sprintf("%q", bytes.TrimSpace(data))
	case "write":
		return errResult(os.WriteFile(arg, []byte("x"), 0o644))
	case "mkdir":
		return errResult(os.Mkdir(arg, 0o755))
	case "stat":
		return statResult(arg)
	case "statfs":
		return statfsResult(arg)
	case "mounts":
		return mountPoints()
	case "cwd":
		wd, err := os.Getwd()
		if err != nil {
			return "ERR " + errnoName(err)
		}
		return wd
	case "pid":
		return fmt.Sprint(os.Getpid())
	case "propagation":
		return rootPropagation()
	case "dev":
		var st unix.Stat_t
		if err := unix.Stat(arg, &st); err != nil {
			return "ERR " + errnoName(err)
		}
		return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	}
	return "unknown check"
}

func errResult(err error) string {
	if err != nil {
		return "ERR " + errnoName(err)
	}
	return "ok"
}

func errnoName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func statResult(p string) string {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return "ERR " + errnoName(err)
	}
	perm := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		return fmt.Sprintf("char %d:%d %04o", unix.Major(st.Rdev), unix.Minor(st.Rdev), perm)
	case unix.S_IFBLK:
		return fmt.Sprintf("block %d:%d %04o", unix.Major(st.Rdev), unix.Minor(st.Rdev), perm)
	case unix.S_IFIFO:
		return fmt.Sprintf("fifo %04o", perm)
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		target, _ := os.Readlink(p)
		return "link " + target
	}
	return "file"
}

var fsNames = map[int64]string{
	unix.TMPFS_MAGIC: "tmpfs", unix.PROC_SUPER_MAGIC: "proc", unix.SYSFS_MAGIC: "sysfs",
	unix.DEVPTS_SUPER_MAGIC: "devpts", 0x19800202: "mqueue", unix.CGROUP_SUPER_MAGIC: "cgroup",
	unix.CGROUP2_SUPER_MAGIC: "cgroup2", unix.RAMFS_MAGIC: "ramfs", unix.EXT4_SUPER_MAGIC: "ext4",
}

func statfsResult(p string) string {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return "ERR " + errnoName(err)
	}
	name, ok := fsNames[st.Type]
	if !ok {
		name = fmt.Sprintf("%#x", st.Type)
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return name + " ro"
	}
	return name + " rw"
}

// rootPropagation returns the optional fields (shared:N, master:N) of the
// mount at "/", or "private" when there are none.
func rootPropagation() string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "ERR " + errnoName(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[4] != "/" {
			continue
		}
		var opt []string
		for _, o := range f[6:] {
			if o == "-" {
				break
			}
			opt = append(opt, strings.Split(o, ":")[0])
		}
		if len(opt) == 0 {
			return "private"
		}
		return strings.Join(opt, " ")
	}
	return "no root mount"
}

func mountPoints() string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "ERR " + errnoName(err)
	}
	var points []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			points = append(points, f[4])
		}
	}
	slices.Sort(points)
	return strings.Join(slices.Compact(points), " ")
}

// runSetup starts test-rootfs in new namespaces k with r and the checks,
// and returns each check's result by its text, plus "setup".
func runSetup(t *testing.T, r namespaces.RootFS, k namespaces.Kind, env []string, checks ...string) map[string]string {
	t.Helper()
	conf, err := json.Marshal(r)
	require.NoError(t, err)
	cmd, err := namespaces.Command(t.Context(), "test-rootfs", k, append([]string{string(conf)}, checks...)...)
	require.NoError(t, err)
	cmd.Env = append(os.Environ(), env...)
	if r.MaskSource != nil {
		cmd.ExtraFiles = []*os.File{r.MaskSource}
		cmd.Env = append(cmd.Env, "TEST_ROOTFS_MASK_SOURCE=1")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		t.Fatalf("test-rootfs failed: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	require.NoError(t, err)
	results := parseResults(stdout.String(), checks)
	if results["setup"] != "ok" {
		t.Logf("output:\n%s%s", stdout.String(), stderr.String())
	}
	return results
}

// parseResults maps each check, and "setup", to its result in out.
func parseResults(out string, checks []string) map[string]string {
	results := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		for _, c := range append([]string{"setup", "setup errno"}, checks...) {
			if rest, ok := strings.CutPrefix(line, c+": "); ok {
				results[c] = rest
			}
		}
	}
	return results
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	s, err := jsonString(v)
	require.NoError(t, err)
	return s
}

func jsonString(v any) (string, error) {
	data, err := json.Marshal(v)
	return string(data), err
}

// defaultRootFS is Docker's defaults on path.
func defaultRootFS(path string) namespaces.RootFS {
	return namespaces.RootFS{
		Path:          path,
		Mounts:        namespaces.DefaultMounts(),
		Devices:       namespaces.DefaultDevices(),
		MaskedPaths:   namespaces.DefaultMaskedPaths(),
		ReadOnlyPaths: namespaces.DefaultReadOnlyPaths(),
	}
}
