package namespaces_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

func hostNames(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// pathChecks returns, for each path, fileVerb PATH if it is a file on the
// host, dirVerb PATH and "statfs PATH" if it is a directory, and "stat
// PATH" if it is missing.
func pathChecks(t *testing.T, paths []string, fileVerb, dirVerb string) []string {
	t.Helper()
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			out = append(out, "stat "+p)
		case fi.IsDir():
			out = append(out, dirVerb+" "+p, "statfs "+p)
		default:
			out = append(out, fileVerb+" "+p)
		}
	}
	return out
}

// TestSetupDefaults checks Docker's defaults from inside the new root.
func TestSetupDefaults(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	root := testutil.Rootfs(t)
	want := hostNames(t, root)
	checks := []string{
		"ls /", "pid", "cwd", "mounts", "ls /proc/1",
		"stat /dev/null", "stat /dev/zero", "stat /dev/full", "stat /dev/random", "stat /dev/urandom", "stat /dev/tty",
		"stat /dev/ptmx", "stat /dev/fd", "stat /dev/stdin", "stat /dev/stdout", "stat /dev/stderr", "stat /dev/pts/ptmx",
		"statfs /", "statfs /proc", "statfs /dev", "statfs /dev/pts", "statfs /dev/shm", "statfs /dev/mqueue",
		"statfs /sys", "statfs /sys/fs/cgroup", "statfs /sys/fs/cgroup/memory", "statfs /sys/fs/cgroup/unified",
		"write /proc/sys/kernel/hostname",
		"mkdir /sys/kernel/berth", "write /sys/fs/cgroup/memory/memory.limit_in_bytes", "mkdir /sys/fs/cgroup/berth",
		"write /tmp/x", "write /dev/shm/x", "write /etc/x",
	}
	maskChecks := pathChecks(t, namespaces.DefaultMaskedPaths(), "read", "ls")
	roChecks := pathChecks(t, namespaces.DefaultReadOnlyPaths(), "write", "statfs")
	checks = append(append(checks, maskChecks...), roChecks...)
	res := runSetup(t, defaultRootFS(root), namespaces.All, nil, checks...)
	require.Equal(t, "ok", res["setup"])

	// Masked paths read empty; read-only paths refuse writes. Those this
	// kernel lacks stay missing.
	for _, c := range maskChecks {
		verb, p, _ := strings.Cut(c, " ")
		switch {
		case verb == "read":
			assert.Equal(t, `""`, res[c], c)
		case verb == "ls":
			assert.Empty(t, res[c], c)
			assert.Equal(t, "tmpfs ro", res["statfs "+p], p)
		case verb == "statfs":
		default:
			assert.Equal(t, "ERR ENOENT", res[c], c)
		}
	}
	for _, c := range roChecks {
		verb, _, _ := strings.Cut(c, " ")
		switch verb {
		case "write":
			assert.Equal(t, "ERR EROFS", res[c], c)
		case "statfs":
			assert.Equal(t, "proc ro", res[c], c)
		default:
			assert.Equal(t, "ERR ENOENT", res[c], c)
		}
	}
	require.GreaterOrEqual(t, len(maskChecks), 4)

	// The new root: the rootfs and nothing else, and this is PID 1.
	assert.Equal(t, want, res["ls /"])
	assert.Equal(t, "1", res["pid"])
	assert.Equal(t, "/", res["cwd"])
	assert.NotContains(t, res["ls /proc/1"], "ERR")
	// pivot_root done: only the container's mounts are left, no host mount.
	points := strings.Fields(res["mounts"])
	for _, p := range points {
		assert.True(t, p == "/" || strings.HasPrefix(p, "/proc") || strings.HasPrefix(p, "/dev") || strings.HasPrefix(p, "/sys"),
			"unexpected mount %s", p)
	}
	assert.NotContains(t, points, "/mnt/sandboxing/model_tools_env/v1/python")
	assert.Equal(t, "ext4 rw", res["statfs /"])

	for _, d := range [][2]string{{"null", "1:3"}, {"zero", "1:5"}, {"full", "1:7"}, {"random", "1:8"}, {"urandom", "1:9"}, {"tty", "5:0"}} {
		assert.Equal(t, "char "+d[1]+" 0666", res["stat /dev/"+d[0]], d[0])
	}
	assert.Equal(t, "link pts/ptmx", res["stat /dev/ptmx"])
	assert.Equal(t, "link /proc/self/fd", res["stat /dev/fd"])
	assert.Equal(t, "link /proc/self/fd/0", res["stat /dev/stdin"])
	assert.Equal(t, "link /proc/self/fd/1", res["stat /dev/stdout"])
	assert.Equal(t, "link /proc/self/fd/2", res["stat /dev/stderr"])
	assert.Equal(t, "char 5:2 0666", res["stat /dev/pts/ptmx"], "ptmxmode=0666")

	fsWant := map[string]string{
		"/proc": "proc rw", "/dev": "tmpfs rw", "/dev/pts": "devpts rw", "/dev/shm": "tmpfs rw",
		"/dev/mqueue": "mqueue rw", "/sys": "sysfs ro", "/sys/fs/cgroup": "tmpfs ro",
		"/sys/fs/cgroup/memory": "cgroup ro", "/sys/fs/cgroup/unified": "cgroup2 ro",
	}
	for p, w := range fsWant {
		assert.Equal(t, w, res["statfs "+p], p)
	}
	assert.Equal(t, "ERR EROFS", res["write /proc/sys/kernel/hostname"])
	assert.Equal(t, "ERR EROFS", res["mkdir /sys/kernel/berth"])
	assert.Equal(t, "ERR EROFS", res["write /sys/fs/cgroup/memory/memory.limit_in_bytes"])
	assert.Equal(t, "ERR EROFS", res["mkdir /sys/fs/cgroup/berth"])
	assert.Equal(t, "ok", res["write /tmp/x"])
	assert.Equal(t, "ok", res["write /dev/shm/x"])
	assert.Equal(t, "ok", res["write /etc/x"])
	assert.FileExists(t, filepath.Join(root, "tmp/x"), "the rootfs is the host directory")
}

// TestSetupCgroupViewOfOwnGroup is the view of a container's own cgroup
// (an absolute Source): on a v1 or hybrid host, a read-only clone of the
// host's /sys/fs/cgroup tmpfs (no tmpfs of its own) with the group's
// directories bound on its hierarchies; nothing shows on the host.
func TestSetupCgroupViewOfOwnGroup(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	var host unix.Statfs_t
	require.NoError(t, unix.Statfs("/sys/fs/cgroup", &host))
	if uint32(host.Type) != unix.TMPFS_MAGIC {
		t.Skip("the host's /sys/fs/cgroup is not a tmpfs of hierarchies (cgroup v2 only)")
	}
	var hostDir unix.Stat_t
	require.NoError(t, unix.Stat("/sys/fs/cgroup", &hostDir))
	hostMounts := readMountPoints(t)
	r := defaultRootFS(testutil.Rootfs(t))
	for i, m := range r.Mounts {
		if m.Type == "cgroup" {
			r.Mounts[i].Source = "/" // the hierarchies' roots stand in for a group
		}
	}
	res := runSetup(t, r, namespaces.All, nil, "dev /sys/fs/cgroup", "statfs /sys/fs/cgroup", "mkdir /sys/fs/cgroup/x",
		"statfs /sys/fs/cgroup/memory", "stat /sys/fs/cgroup/memory/memory.limit_in_bytes",
		"write /sys/fs/cgroup/memory/memory.limit_in_bytes")
	require.Equal(t, "ok", res["setup"])
	assert.Equal(t, fmt.Sprintf("%d:%d", unix.Major(hostDir.Dev), unix.Minor(hostDir.Dev)), res["dev /sys/fs/cgroup"],
		"the host's tmpfs, not one of the container's own")
	assert.Equal(t, "tmpfs ro", res["statfs /sys/fs/cgroup"])
	assert.Equal(t, "ERR EROFS", res["mkdir /sys/fs/cgroup/x"])
	assert.Equal(t, "cgroup ro", res["statfs /sys/fs/cgroup/memory"])
	assert.NotContains(t, res["stat /sys/fs/cgroup/memory/memory.limit_in_bytes"], "ERR")
	assert.Equal(t, "ERR EROFS", res["write /sys/fs/cgroup/memory/memory.limit_in_bytes"])
	assert.Equal(t, hostMounts, readMountPoints(t), "mounts of the view reached the host")
}

// readMountPoints returns this process's mount points.
func readMountPoints(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out
}

// TestSetupMaskSourceShared sets two roots up with one mask source: the
// masked directories of both are clones of it (one superblock), empty and
// read-only; without it each gets a tmpfs of its own.
func TestSetupMaskSourceShared(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	src, err := namespaces.NewMaskSource()
	require.NoError(t, err)
	defer src.Close()
	var srcStat unix.Stat_t
	require.NoError(t, unix.Fstat(int(src.Fd()), &srcStat))
	srcDev := fmt.Sprintf("%d:%d", unix.Major(srcStat.Dev), unix.Minor(srcStat.Dev))
	var dirs []string
	for _, p := range namespaces.DefaultMaskedPaths() {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			dirs = append(dirs, p)
		}
	}
	if len(dirs) == 0 {
		t.Skip("no masked directory exists on this host")
	}
	var checks []string
	for _, d := range dirs {
		checks = append(checks, "dev "+d, "ls "+d, "mkdir "+d+"/x", "statfs "+d)
	}
	for _, shared := range []bool{true, true, false} {
		r := defaultRootFS(testutil.Rootfs(t))
		if shared {
			r.MaskSource = src
		}
		res := runSetup(t, r, namespaces.All, nil, checks...)
		require.Equal(t, "ok", res["setup"])
		for _, d := range dirs {
			if shared {
				assert.Equal(t, srcDev, res["dev "+d], "%s is not a clone of the mask source", d)
			} else {
				assert.NotEqual(t, srcDev, res["dev "+d], d)
			}
			assert.Empty(t, res["ls "+d], d)
			assert.Equal(t, "ERR EROFS", res["mkdir "+d+"/x"], d)
			assert.Equal(t, "tmpfs ro", res["statfs "+d], d)
		}
	}
}

func TestSetupReadOnlyRootAndBinds(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	root := testutil.Rootfs(t)
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "file"), []byte("from host"), 0o644))
	single := filepath.Join(t.TempDir(), "single")
	require.NoError(t, os.WriteFile(single, []byte("one file"), 0o644))

	r := defaultRootFS(root)
	r.ReadOnly = true
	r.Propagation = "rprivate"
	r.Mounts = append(r.Mounts,
		namespaces.MountSpec{Source: data, Target: "/data/ro", Options: []string{"rbind", "ro", "nosuid", "private"}},
		namespaces.MountSpec{Source: data, Target: "/data/rw", Options: []string{"bind"}},
		namespaces.MountSpec{Source: single, Target: "/etc/single", Options: []string{"bind", "ro"}},
		namespaces.MountSpec{Target: "/run", Type: "tmpfs", Options: []string{"mode=700", "size=1m"}},
	)
	res := runSetup(t, r, namespaces.All, nil,
		"write /etc/x", "write /tmp/x", "write /dev/shm/x", "write /run/x",
		"read /data/ro/file", "write /data/ro/new", "statfs /data/ro",
		"read /data/rw/file", "write /data/rw/new", "read /etc/single", "write /etc/single", "stat /etc/single", "statfs /")
	require.Equal(t, "ok", res["setup"])
	assert.Equal(t, "ext4 ro", res["statfs /"])
	assert.Equal(t, "ERR EROFS", res["write /etc/x"])
	assert.Equal(t, "ERR EROFS", res["write /tmp/x"])
	assert.Equal(t, "ok", res["write /dev/shm/x"])
	assert.Equal(t, "ok", res["write /run/x"])
	assert.Equal(t, `"from host"`, res["read /data/ro/file"])
	assert.Equal(t, "ERR EROFS", res["write /data/ro/new"])
	assert.Equal(t, "ext4 ro", res["statfs /data/ro"])
	assert.Equal(t, `"from host"`, res["read /data/rw/file"])
	assert.Equal(t, "ok", res["write /data/rw/new"])
	assert.FileExists(t, filepath.Join(data, "new"), "the rw bind writes through to the host")
	assert.Equal(t, `"one file"`, res["read /etc/single"])
	assert.Equal(t, "ERR EROFS", res["write /etc/single"])
	assert.Equal(t, "file", res["stat /etc/single"], "a file source gets a file target")
}

// TestSetupRamfsFallback runs Setup where "/" is a ramfs directory that is
// not a mount point, as in an initramfs: pivot_root fails with EINVAL (the
// child checks it first), and Setup moves the root and chroots instead.
func TestSetupRamfsFallback(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	root := testutil.Rootfs(t)
	want := hostNames(t, root)
	ramdir := t.TempDir()
	res := runSetup(t, defaultRootFS(root), namespaces.All, []string{"TEST_ROOTFS_PREPARE=ramfs:" + ramdir},
		"ls /", "pid", "cwd", "mounts", "statfs /", "statfs /proc", "stat /dev/null", "read /proc/keys",
		"write /proc/sys/kernel/hostname", "statfs /sys", "ls /..", "ls /../..")
	require.Equal(t, "ok", res["setup"])
	assert.Equal(t, want, res["ls /"])
	assert.Equal(t, want, res["ls /.."], "no way up from the new root")
	assert.Equal(t, want, res["ls /../.."])
	assert.Equal(t, "ramfs rw", res["statfs /"], "the rootfs copy on the ramfs is the root")
	assert.Equal(t, "1", res["pid"])
	assert.Equal(t, "/", res["cwd"])
	assert.Equal(t, "proc rw", res["statfs /proc"])
	assert.Equal(t, "char 1:3 0666", res["stat /dev/null"])
	assert.Equal(t, `""`, res["read /proc/keys"])
	assert.Equal(t, "ERR EROFS", res["write /proc/sys/kernel/hostname"])
	assert.Equal(t, "sysfs ro", res["statfs /sys"])
	for _, p := range strings.Fields(res["mounts"]) {
		assert.True(t, p == "/" || strings.HasPrefix(p, "/proc") || strings.HasPrefix(p, "/dev") || strings.HasPrefix(p, "/sys"),
			"unexpected mount %s", p)
	}
	assert.False(t, slices.Contains(strings.Fields(res["ls /"]), "sub"))
}

func TestSetupPropagation(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	root := testutil.Rootfs(t)
	// Make the rootfs a shared mount in this (the host's) mount namespace,
	// as on hosts whose mounts are shared (systemd): the child's copy is
	// then its peer, and a slave has a master to show.
	require.NoError(t, unix.Mount(root, root, "", unix.MS_BIND, ""))
	t.Cleanup(func() { assert.NoError(t, unix.Unmount(root, unix.MNT_DETACH)) })
	require.NoError(t, unix.Mount("", root, "", unix.MS_SHARED, ""))
	tests := []struct{ propagation, want string }{
		{"", "master"}, {"rslave", "master"}, {"slave", "master"},
		{"rprivate", "private"}, {"private", "private"}, {"rshared", "shared master"},
	}
	for _, tt := range tests {
		t.Run("propagation="+tt.propagation, func(t *testing.T) {
			r := defaultRootFS(root)
			r.Propagation = tt.propagation
			res := runSetup(t, r, namespaces.All, nil, "propagation", "mounts")
			// Nothing the container mounted shows up on the host.
			assert.Empty(t, hostMountsUnder(t, root))
			require.Equal(t, "ok", res["setup"])
			assert.Equal(t, tt.want, res["propagation"])
		})
	}
}

// hostMountsUnder lists this process's mount points strictly below dir.
func hostMountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}
