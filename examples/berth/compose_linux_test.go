package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/namespaces"
)

// testNetNS makes a network namespace that plays the host, with loopback
// up, until the test ends.
func testNetNS(t *testing.T) *namespaces.Handle {
	t.Helper()
	h, err := namespaces.Open(testutil.NetNS(t))
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

// cliRunner runs the CLI with a state and root directory of its own, in
// the namespace ns.
type cliRunner struct {
	t              *testing.T
	bin            string
	stateDir, root string
	ns             *namespaces.Handle
}

func (r *cliRunner) run(args ...string) (string, string, int) {
	r.t.Helper()
	cmd := exec.Command(r.bin, append([]string{"--state-dir", r.stateDir, "--root", r.root}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Started from a thread in ns, the CLI (and the monitor it may
	// start) lives there.
	require.NoError(r.t, r.ns.Do(cmd.Start))
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(r.t, err)
	}
	return stdout.String(), stderr.String(), code
}

// echoIn connects to addr from ns, sends msg and returns the answer.
func echoIn(t *testing.T, ns *namespaces.Handle, addr, msg string) (string, error) {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintln(c, msg)
	return bufio.NewReader(c).ReadString('\n')
}

// TestCompose drives the CLI as a user would: import an image, run it
// with limits (an OOM kill, a pids limit), on the bridge with a
// published port, reach it by name from another container, read its
// stats, pause and resume it, and remove it, all in a test namespace
// playing the host.
func TestCompose(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "veth")
	testutil.RequireFeature(t, "bridge")
	bin := buildCLI(t)
	testutil.CheckLeaks(t)
	r := &cliRunner{t: t, bin: bin, stateDir: t.TempDir(), root: t.TempDir(), ns: testNetNS(t)}
	rootfs := testutil.Rootfs(t)
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	f, err := os.Create(tarball)
	require.NoError(t, err)
	_, err = layers.Diff(t.Context(), "", rootfs, f, nil)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	out, errOut, code := r.run("import", "-c", `CMD ["sleep", "3600"]`, tarball, "payload:1")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "sha256:"), out)
	out, _, code = r.run("images")
	require.Equal(t, 0, code)
	assert.Regexp(t, `(?m)^payload\s+1\s+[0-9a-f]{12}\s`, out)

	t.Run("oom", func(t *testing.T) {
		out, errOut, code := r.run("run", "--rm", "--memory", "32m", "payload:1", "alloc", "64")
		assert.Equal(t, 137, code, out+errOut)
		assert.Contains(t, errOut, "OOM killer")
	})
	t.Run("pids limit", func(t *testing.T) {
		out, errOut, code := r.run("run", "--rm", "--pids-limit", "16", "payload:1", "fork", "40")
		assert.Equal(t, 1, code, out+errOut)
		assert.Contains(t, out, "resource temporarily unavailable")
	})
	t.Run("limits on a rootfs", func(t *testing.T) {
		out, errOut, code := r.run("run", "--cpus", "0.5", "--cpuset-cpus", "0", "--rootfs", rootfs, "true")
		assert.Equal(t, 0, code, out+errOut)
	})

	out, errOut, code = r.run("run", "-d", "--name", "web", "--network", "bridge", "-p", "127.0.0.1:18080:80",
		"payload:1", "listen", "0.0.0.0:80")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "web\n", out)
	t.Run("published port", func(t *testing.T) {
		var line string
		require.Eventually(t, func() bool {
			line, err = echoIn(t, r.ns, "127.0.0.1:18080", "hello host")
			return err == nil
		}, 10*time.Second, 50*time.Millisecond, "%v", err)
		assert.Equal(t, "hello host\n", line)
	})
	t.Run("by name, hosts and dns", func(t *testing.T) {
		out, errOut, code := r.run("run", "--rm", "--network", "bridge", "payload:1", "connect", "web:80", "hi", "web")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "hi web\n", out)
		out, errOut, code = r.run("run", "--rm", "--network", "bridge", "--add-host", "db:192.0.2.10", "--hostname", "box",
			"payload:1", "cat", "/etc/hosts")
		require.Equal(t, 0, code, errOut)
		assert.Regexp(t, `(?m)^10\.87\.\d+\.\d+\s+web$`, out)
		assert.Regexp(t, `(?m)^192\.0\.2\.10\s+db$`, out)
		assert.Regexp(t, `(?m)^10\.87\.\d+\.\d+\s+box$`, out)
		out, errOut, code = r.run("run", "--rm", "--network", "bridge", "--dns", "192.0.2.53", "payload:1", "cat", "/etc/resolv.conf")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "nameserver 192.0.2.53\n")
	})
	t.Run("stats", func(t *testing.T) {
		out, errOut, code := r.run("stats", "--no-stream", "web")
		require.Equal(t, 0, code, errOut)
		assert.Contains(t, out, "CONTAINER ID")
		assert.Regexp(t, `(?m)^web\s+\d+\.\d+%\s+[\d.]+[KMG]?i?B / [\d.]+[KMG]?i?B\s+\d+\.\d+%\s+[\d.]+[KMG]?i?B / `, out)
		out, _, code = r.run("stats", "--no-stream")
		require.Equal(t, 0, code)
		assert.Contains(t, out, "web")
	})
	t.Run("pause and unpause", func(t *testing.T) {
		_, errOut, code := r.run("pause", "web")
		require.Equal(t, 0, code, errOut)
		out, _, _ := r.run("ps")
		assert.Contains(t, out, "(Paused)")
		_, errOut, code = r.run("unpause", "web")
		require.Equal(t, 0, code, errOut)
		line, err := echoIn(t, r.ns, "127.0.0.1:18080", "again")
		require.NoError(t, err)
		assert.Equal(t, "again\n", line)
	})
	_, errOut, code = r.run("rm", "-f", "web")
	require.Equal(t, 0, code, errOut)
	out, _, _ = r.run("ps", "-a", "-q")
	assert.Empty(t, strings.TrimSpace(out))
	_, err = echoIn(t, r.ns, "127.0.0.1:18080", "gone")
	assert.Error(t, err)
	// The monitor leaves once it has no containers.
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(r.stateDir, "monitor.sock"))
		return os.IsNotExist(err)
	}, 10*time.Second, 50*time.Millisecond)
}
