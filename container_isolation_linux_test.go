package berth_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/testutil"
)

// output runs a container with args on a payload rootfs and returns its
// stdout, stderr and exit code.
func output(t *testing.T, mutate func(*berth.Container), args ...string) (string, string, int) {
	t.Helper()
	c, stdout, stderr := newContainer(t, args...)
	if mutate != nil {
		mutate(c)
	}
	code, err := c.Run(t.Context())
	require.NoError(t, err, stderr.String())
	return stdout.String(), stderr.String(), code
}

// forEachStart runs f once for each way Start can go: the direct start
// (where the kernel allows it) and the re-executed init.
func forEachStart(t *testing.T, f func(t *testing.T)) {
	if berth.DirectStartSupported() {
		t.Run("direct start", f)
	}
	t.Run("re-executed init", func(t *testing.T) {
		berth.ForceReexec(t)
		f(t)
	})
}

func TestIsolation(t *testing.T) {
	testutil.RequireRoot(t)
	forEachStart(t, testIsolation)
}

func testIsolation(t *testing.T) {
	testutil.CheckLeaks(t)
	hostHostname, err := os.Hostname()
	require.NoError(t, err)

	t.Run("own PID namespace, process is PID 1", func(t *testing.T) {
		out, _, code := output(t, nil, "pids")
		require.Equal(t, 0, code)
		assert.Equal(t, []string{"1"}, strings.Fields(out))
	})
	t.Run("hostname", func(t *testing.T) {
		out, _, _ := output(t, func(c *berth.Container) { c.Hostname = "boxy" }, "hostname")
		assert.Equal(t, "boxy", strings.TrimSpace(out))
		assert.NotEqual(t, hostHostname, "boxy")
		out, _, _ = output(t, func(c *berth.Container) { c.ID = "abcdef0123456789" }, "hostname")
		assert.Equal(t, "abcdef012345", strings.TrimSpace(out), "default hostname is the short ID")
	})
	t.Run("only lo", func(t *testing.T) {
		out, _, _ := output(t, nil, "ls", "/sys/class/net")
		assert.Equal(t, []string{"lo"}, strings.Fields(out))
		out, _, _ = output(t, nil, "cat", "/sys/class/net/lo/operstate")
		assert.Equal(t, "unknown", strings.TrimSpace(out), "lo is up")
	})
	t.Run("own mounts, nothing of the host", func(t *testing.T) {
		out, _, _ := output(t, nil, "mounts")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			require.GreaterOrEqual(t, len(f), 5, line)
			assert.False(t, strings.HasPrefix(f[4], "/tmp") || strings.HasPrefix(f[4], "/work") || f[4] == "/run", "host mount visible: %s", line)
		}
		assert.Regexp(t, `(?m)^\S+ \S+ \S+ \S+ / `, out, "the rootfs is /")
		out, _, _ = output(t, nil, "ls", "/")
		assert.NotContains(t, out, "work", "host directories are not visible")
	})
	t.Run("own IPC namespace", func(t *testing.T) {
		host, err := os.Readlink("/proc/self/ns/ipc")
		require.NoError(t, err)
		out, _, _ := output(t, nil, "readlink", "/proc/self/ns/ipc")
		if strings.Contains(out, "unknown applet") {
			t.Skip("payload has no readlink applet")
		}
		assert.NotEqual(t, host, strings.TrimSpace(out))
	})
	t.Run("masked paths read empty", func(t *testing.T) {
		for _, p := range []string{"/proc/keys", "/proc/timer_list", "/proc/interrupts"} {
			out, _, code := output(t, nil, "cat", p)
			assert.Equal(t, 0, code, p)
			assert.Empty(t, out, p)
		}
		out, _, _ := output(t, nil, "ls", "/sys/firmware")
		assert.Empty(t, strings.TrimSpace(out))
	})
	t.Run("read-only paths refuse writes", func(t *testing.T) {
		_, errOut, code := output(t, nil, "write", "/proc/sys/kernel/hostname", "evil")
		assert.NotEqual(t, 0, code)
		assert.Contains(t, errOut, "read-only")
		_, _, code = output(t, nil, "write", "/proc/sysrq-trigger", "h")
		assert.NotEqual(t, 0, code)
	})
	t.Run("default capabilities", func(t *testing.T) {
		out, _, _ := output(t, nil, "caps")
		want := map[string]string{"CapInh": "0000000000000000", "CapPrm": "00000000a80425fb",
			"CapEff": "00000000a80425fb", "CapBnd": "00000000a80425fb", "CapAmb": "0000000000000000"}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if w, ok := want[k]; ok {
				assert.Equal(t, w, strings.TrimSpace(v), k)
				delete(want, k)
			}
		}
		assert.Empty(t, want, "all sets printed")
	})
	t.Run("mount fails", func(t *testing.T) {
		_, errOut, code := output(t, nil, "mount", "tmpfs", "/tmp", "tmpfs")
		assert.NotEqual(t, 0, code)
		assert.Contains(t, errOut, "operation not permitted")
	})
	t.Run("mknod of a block device fails", func(t *testing.T) {
		_, errOut, code := output(t, nil, "mknod", "/tmp/sda")
		assert.NotEqual(t, 0, code)
		assert.Contains(t, errOut, "operation not permitted")
		// CAP_MKNOD is in the default set: the seccomp profile refuses it,
		// and so does the default device cgroup where there is one.
		if testutil.HasFeature("cgroup1:devices") {
			_, errOut, code = output(t, func(c *berth.Container) { c.Unconfined = true }, "mknod", "/tmp/sda")
			assert.NotEqual(t, 0, code)
			assert.Contains(t, errOut, "operation not permitted")
		}
		allowAll := &cgroups.Resources{Devices: []cgroups.DeviceRule{{Allow: true, Type: 'a', Major: -1, Minor: -1, Access: "rwm"}}}
		out, _, code := output(t, func(c *berth.Container) { c.Unconfined, c.Resources = true, allowAll }, "mknod", "/tmp/sda")
		assert.Equal(t, 0, code)
		assert.Contains(t, out, "created")
		// The default allowlist keeps character devices such as /dev/null.
		out, _, code = output(t, func(c *berth.Container) { c.Unconfined = true }, "mknod", "/tmp/null", "c", "1", "3")
		assert.Equal(t, 0, code)
		assert.Contains(t, out, "created")
	})
	t.Run("own cgroup namespace and view", func(t *testing.T) {
		out, _, _ := output(t, nil, "cat", "/proc/self/cgroup")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if strings.Contains(line, "name=systemd") || strings.HasPrefix(line, "0::") {
				continue // hierarchies Berth does not manage
			}
			assert.True(t, strings.HasSuffix(line, ":/"), "the container's cgroup is its namespace's root: %s", line)
		}
		if !testutil.HasFeature("cgroup1:pids") {
			return
		}
		max := int64(77)
		limit := &cgroups.Resources{Pids: &cgroups.Pids{Max: &max}}
		out, _, _ = output(t, func(c *berth.Container) { c.Resources = limit }, "cat", "/sys/fs/cgroup/pids/pids.max")
		assert.Equal(t, "77", strings.TrimSpace(out), "the view is the container's own group")
	})
	t.Run("no_new_privs", func(t *testing.T) {
		out, _, _ := output(t, nil, "nnp")
		assert.Contains(t, out, "1")
		out, _, _ = output(t, func(c *berth.Container) { c.AllowNewPrivileges = true }, "nnp")
		assert.Contains(t, out, "0")
	})
	t.Run("cap add and drop", func(t *testing.T) {
		out, _, _ := output(t, func(c *berth.Container) {
			c.Capabilities = berth.Capabilities{Drop: []string{"ALL"}, Add: []string{"net_admin"}}
		}, "caps")
		assert.Contains(t, out, fmt.Sprintf("CapEff:\t%016x", 1<<12))
	})
	t.Run("exactly stdio, cwd inside", func(t *testing.T) {
		// GODEBUG keeps the payload's own Go runtime from holding cgroup
		// files open for GOMAXPROCS updates.
		out, _, _ := output(t, func(c *berth.Container) { c.Env = []string{"GODEBUG=containermaxprocs=0,updatemaxprocs=0"} }, "fds")
		fds := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, fds, 3, out)
		for i, l := range fds {
			assert.True(t, strings.HasPrefix(l, fmt.Sprint(i)+" "), l)
		}
		out, _, _ = output(t, func(c *berth.Container) { c.Dir = "/tmp" }, "pwd")
		assert.Equal(t, "/tmp", strings.TrimSpace(out))
	})
}

func TestExtraFiles(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	path := t.TempDir() + "/shared"
	require.NoError(t, os.WriteFile(path, []byte("passed in"), 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	env := []string{"GODEBUG=containermaxprocs=0,updatemaxprocs=0"}
	out, _, _ := output(t, func(c *berth.Container) { c.ExtraFiles = []*os.File{f}; c.Env = env }, "fds")
	fds := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, fds, 4, out)
	assert.True(t, strings.HasPrefix(fds[3], "3 "), fds[3])
	assert.Contains(t, fds[3], "shared")
	out, _, code := output(t, func(c *berth.Container) { c.ExtraFiles = []*os.File{f} }, "cat", "/proc/self/fd/3")
	assert.Equal(t, 0, code)
	assert.Equal(t, "passed in", out)
}
