package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

func TestMain(m *testing.M) {
	if handled, err := berth.Dispatch(context.Background()); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// buildCLI builds this command once per test binary.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "berth")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// TestSmoke drives the CLI as separate processes, as a user would: a
// foreground run, then a detached container that later invocations list,
// exec into, read the logs of, stop and remove.
func TestSmoke(t *testing.T) {
	testutil.RequireRoot(t)
	bin := buildCLI(t)
	testutil.CheckLeaks(t)
	rootfs := testutil.Rootfs(t)
	stateDir := t.TempDir()
	berthCmd := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--state-dir", stateDir}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		return stdout.String(), stderr.String(), code
	}
	out, errOut, code := berthCmd("run", "--rootfs", rootfs, "-e", "GREETING=hi", "env")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "GREETING=hi")
	_, _, code = berthCmd("run", "--rootfs", rootfs, "exit", "3")
	assert.Equal(t, 3, code, "run exits with the container's code")
	_, errOut, code = berthCmd("run", "--rootfs", rootfs, "no-such-program")
	assert.Equal(t, 127, code, errOut)
	out, errOut, code = berthCmd("run", "--rootfs", rootfs, "-u", "user", "--hostname", "h1", "--read-only", "id")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "uid=1000")
	vol := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(vol, "f"), []byte("from the host"), 0o644))
	out, errOut, code = berthCmd("run", "--rootfs", rootfs, "-v", vol+":/data:ro", "cat", "/data/f")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "from the host", out)

	out, errOut, code = berthCmd("run", "-d", "--name", "web", "--rootfs", rootfs, "signals")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "web\n", out)
	out, _, _ = berthCmd("ps")
	assert.Contains(t, out, "web")
	out, errOut, code = berthCmd("exec", "web", "hostname")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "web\n", out)
	_, _, code = berthCmd("rm", "web")
	assert.NotEqual(t, 0, code, "rm refuses a running container")
	_, _, code = berthCmd("stop", "-t", "5", "web")
	require.Equal(t, 0, code)
	out, _, _ = berthCmd("ps", "-a")
	assert.Contains(t, out, "Exited (143)")
	out, _, code = berthCmd("logs", "web")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "terminated")
	out, _, code = berthCmd("inspect", "web")
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"status": "exited"`)
	_, _, code = berthCmd("rm", "web")
	require.Equal(t, 0, code)
	out, _, _ = berthCmd("ps", "-a", "-q")
	assert.Empty(t, strings.TrimSpace(out))

	out, _, code = berthCmd("run", "-d", "--rootfs", rootfs, "sleep", "100")
	require.Equal(t, 0, code)
	id := strings.TrimSpace(out)
	require.Len(t, id, 64)
	_, _, code = berthCmd("kill", id[:8])
	require.Equal(t, 0, code)
	_, _, code = berthCmd("rm", "-f", id[:8])
	require.Equal(t, 0, code)
	// The monitor leaves once it has no containers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(stateDir, "monitor.sock")); os.IsNotExist(err) {
			break
		}
		require.True(t, time.Now().Before(deadline), "monitor still there")
		time.Sleep(50 * time.Millisecond)
	}
}
