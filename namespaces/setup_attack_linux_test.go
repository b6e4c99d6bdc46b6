package namespaces_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

// TestSetupSymlinkAttacks places symlinks in the rootfs that point out of
// it at the targets of mounts, devices, masks and read-only paths. Each
// must be resolved inside the rootfs: nothing appears in the victim
// directory on the host, and from inside the container the mount, node or
// mask is where the in-root resolution puts it.
func TestSetupSymlinkAttacks(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	tests := []struct {
		name string
		// arrange changes the rootfs and the RootFS; it returns the checks
		// and what each must give.
		arrange func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string
	}{
		{"mount target under an absolute symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			require.NoError(t, os.Symlink(victim, root+"/escape"))
			r.Mounts = append(r.Mounts, namespaces.MountSpec{Target: "/escape/sub", Type: "tmpfs"})
			return map[string]string{"statfs " + victim + "/sub": "tmpfs rw", "statfs /escape/sub": "tmpfs rw"}
		}},
		{"mount target under a relative symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			require.NoError(t, os.Symlink(strings.Repeat("../", 20)+victim[1:], root+"/rel"))
			r.Mounts = append(r.Mounts, namespaces.MountSpec{Target: "/rel/sub", Type: "tmpfs"})
			return map[string]string{"statfs " + victim + "/sub": "tmpfs rw"}
		}},
		{"mount target is an escaping symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			require.NoError(t, os.Symlink(victim, root+"/link"))
			r.Mounts = append(r.Mounts, namespaces.MountSpec{Target: "/link", Type: "tmpfs"})
			return map[string]string{"statfs " + victim: "tmpfs rw"}
		}},
		{"mount target with dot-dots", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			r.Mounts = append(r.Mounts, namespaces.MountSpec{Target: "/tmp/../../../.." + victim + "/dd", Type: "tmpfs"})
			return map[string]string{"statfs " + victim + "/dd": "tmpfs rw"}
		}},
		{"bind file target under a symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			src := filepath.Join(t.TempDir(), "hosts")
			require.NoError(t, os.WriteFile(src, []byte("bound"), 0o644))
			require.NoError(t, os.Symlink(victim, root+"/etc2"))
			r.Mounts = append(r.Mounts, namespaces.MountSpec{Source: src, Target: "/etc2/hosts", Options: []string{"bind", "ro"}})
			return map[string]string{"read " + victim + "/hosts": `"bound"`}
		}},
		{"/dev is an escaping symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			require.NoError(t, os.Remove(root+"/dev"))
			require.NoError(t, os.Symlink(victim, root+"/dev"))
			return map[string]string{"statfs " + victim: "tmpfs rw", "stat /dev/null": "char 1:3 0666",
				"stat " + victim + "/zero": "char 1:5 0666", "stat /dev/ptmx": "link pts/ptmx"}
		}},
		{"device path under a symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			require.NoError(t, os.Symlink(victim, root+"/devlink"))
			r.Devices = append(r.Devices, namespaces.Device{Path: "/devlink/null2", Type: 'c', Major: 1, Minor: 3, Mode: 0o600})
			return map[string]string{"stat " + victim + "/null2": "char 1:3 0600"}
		}},
		{"masked path is a symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			require.NoError(t, os.Symlink("../../../../../etc/hostname", root+"/masklink"))
			require.NoError(t, os.Symlink(victim+"/secret", root+"/maskout"))
			r.MaskedPaths = append(r.MaskedPaths, "/masklink", "/maskout")
			return map[string]string{"read /etc/hostname": `""`, "stat /etc/hostname": "char 1:3 0666", "read /maskout": "ERR ENOENT"}
		}},
		{"read-only path is a symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			require.NoError(t, os.Symlink("../../../../../etc", root+"/rolink"))
			r.ReadOnlyPaths = append(r.ReadOnlyPaths, "/rolink")
			return map[string]string{"write /etc/x": "ERR EROFS", "write /tmp/x": "ok"}
		}},
		{"/dev/null in the rootfs is a symlink", func(t *testing.T, root, victim string, r *namespaces.RootFS) map[string]string {
			// No /dev tmpfs and no devices: the masks must still use the
			// host's /dev/null, not what the rootfs has there
			// (CVE-2025-31133).
			r.Mounts = slices.DeleteFunc(r.Mounts, func(m namespaces.MountSpec) bool { return strings.HasPrefix(m.Target, "/dev") })
			r.Devices = nil
			require.NoError(t, os.Symlink("/proc/sys/kernel/core_pattern", root+"/dev/null"))
			return map[string]string{"stat /proc/keys": "char 1:3 0666", "read /proc/keys": `""`,
				"stat /proc/sys/kernel/core_pattern": "file", "write /proc/sys/kernel/core_pattern": "ERR EROFS"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := testutil.Rootfs(t)
			victim := t.TempDir()
			r := defaultRootFS(root)
			want := tt.arrange(t, root, victim, &r)
			var checks []string
			for c := range want {
				checks = append(checks, c)
			}
			res := runSetup(t, r, namespaces.All, nil, checks...)
			require.Equal(t, "ok", res["setup"])
			for c, w := range want {
				assert.Equal(t, w, res[c], c)
			}
			assert.Empty(t, hostNames(t, victim), "something was created outside the rootfs")
		})
	}
}

// TestSetupRefusesNodeOverSymlink: a device whose path holds a symlink is
// not created through it, and Setup fails naming the device.
func TestSetupRefusesNodeOverSymlink(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	root := testutil.Rootfs(t)
	victim := filepath.Join(t.TempDir(), "victim")
	require.NoError(t, os.WriteFile(victim, []byte("keep"), 0o644))
	r := defaultRootFS(root)
	r.Mounts = slices.DeleteFunc(r.Mounts, func(m namespaces.MountSpec) bool { return strings.HasPrefix(m.Target, "/dev") })
	require.NoError(t, os.Symlink(victim, root+"/dev/null"))
	res := runSetup(t, r, namespaces.All, nil)
	assert.Contains(t, res["setup"], `creating devices: device "/dev/null"`)
	assert.Contains(t, res["setup"], "file already exists")
	data, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "keep", string(data))
}

func TestSetupErrorsNameTheStep(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	root := testutil.Rootfs(t)
	tests := []struct {
		name   string
		change func(r *namespaces.RootFS)
		want   []string
	}{
		{"missing rootfs", func(r *namespaces.RootFS) { r.Path = filepath.Join(root, "missing") },
			[]string{"rootfs setup: binding rootfs", "no such file or directory"}},
		{"rootfs is a file", func(r *namespaces.RootFS) { r.Path = filepath.Join(root, "etc/passwd") },
			[]string{"rootfs setup: binding rootfs", "not a directory"}},
		{"missing bind source", func(r *namespaces.RootFS) {
			r.Mounts = append(r.Mounts, namespaces.MountSpec{Source: "/nonexistent/berth", Target: "/data", Options: []string{"bind"}})
		}, []string{"rootfs setup: mounting", `"/data"`, "no such file or directory"}},
		{"unknown file system", func(r *namespaces.RootFS) {
			r.Mounts = append(r.Mounts, namespaces.MountSpec{Target: "/data", Type: "nosuchfs"})
		}, []string{"rootfs setup: mounting", "mount nosuchfs /data", "no such device"}},
		{"invalid description", func(r *namespaces.RootFS) { r.Propagation = "sideways" },
			[]string{"rootfs setup: root propagation", "invalid argument"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := defaultRootFS(root)
			tt.change(&r)
			res := runSetup(t, r, namespaces.All, nil)
			for _, w := range tt.want {
				assert.Contains(t, res["setup"], w)
			}
		})
	}
}

// TestSetupInUserNamespace runs Setup as root of a user namespace mapped to
// unprivileged host IDs: devices come from the host by bind mount, and the
// hardening holds.
func TestSetupInUserNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "userns")
	testutil.CheckLeaks(t)
	root := testutil.Rootfs(t)
	r := defaultRootFS(root)
	conf := mustJSON(t, r)
	checks := []string{"ls /", "pid", "stat /dev/null", "stat /dev/tty", "write /dev/null", "statfs /sys", "statfs /proc",
		"statfs /dev/pts", "statfs /proc/sys", "write /proc/sys/kernel/hostname", "read /proc/keys", "ls /sys/firmware", "mounts",
		"statfs /sys/fs/cgroup", "statfs /sys/fs/cgroup/memory", "ls /sys/fs/cgroup/memory", "statfs /sys/fs/cgroup/unified"}
	cmd, err := namespaces.Command(t.Context(), "test-rootfs", namespaces.All|namespaces.User, append([]string{conf}, checks...)...)
	require.NoError(t, err)
	cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 65536}}
	cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 200000, Size: 65536}}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	res := parseResults(string(out), checks)
	require.Equal(t, "ok", res["setup"], string(out))
	assert.Equal(t, hostNames(t, root), res["ls /"])
	assert.Equal(t, "1", res["pid"])
	assert.Equal(t, "char 1:3 0666", res["stat /dev/null"], "bound from the host")
	assert.Equal(t, "char 5:0 0666", res["stat /dev/tty"])
	assert.Equal(t, "ok", res["write /dev/null"])
	assert.Equal(t, "sysfs ro", res["statfs /sys"])
	assert.Equal(t, "proc rw", res["statfs /proc"])
	assert.Equal(t, "devpts rw", res["statfs /dev/pts"])
	assert.Equal(t, "proc ro", res["statfs /proc/sys"])
	assert.Equal(t, "ERR EROFS", res["write /proc/sys/kernel/hostname"])
	assert.Equal(t, `""`, res["read /proc/keys"])
	assert.Empty(t, res["ls /sys/firmware"])
	// Recent kernels mount an existing cgroup v1 hierarchy in a user
	// namespace; older ones refuse, and an empty directory stands in.
	assert.Equal(t, "tmpfs ro", res["statfs /sys/fs/cgroup"])
	if mem := res["statfs /sys/fs/cgroup/memory"]; mem == "cgroup ro" {
		assert.Contains(t, res["ls /sys/fs/cgroup/memory"], "tasks")
	} else {
		assert.Equal(t, "tmpfs ro", mem)
		assert.Empty(t, res["ls /sys/fs/cgroup/memory"])
	}
	assert.Equal(t, "cgroup2 ro", res["statfs /sys/fs/cgroup/unified"])
}
