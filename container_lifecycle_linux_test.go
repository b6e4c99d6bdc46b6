package berth_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

func TestExitCodes(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"true", []string{"true"}, 0},
		{"false", []string{"false"}, 1},
		{"exit 42", []string{"exit", "42"}, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, code := output(t, nil, tt.args...)
			assert.Equal(t, tt.want, code)
		})
	}
}

func TestStopSignals(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	t.Run("SIGTERM handled", func(t *testing.T) {
		c, stdout, _ := newContainer(t, "signals")
		require.NoError(t, c.Start(t.Context()))
		time.Sleep(300 * time.Millisecond) // let it install its handler
		code, err := c.Stop(t.Context(), 5*time.Second)
		require.NoError(t, err)
		assert.Equal(t, 143, code)
		assert.Contains(t, stdout.String(), "terminated")
	})
	t.Run("SIGKILL after grace", func(t *testing.T) {
		c, _, _ := newContainer(t, "sleep", "100")
		require.NoError(t, c.Start(t.Context()))
		// A stopped process cannot act on SIGTERM (and a Go program as
		// PID 1 would exit 2 on it): Stop must fall back to SIGKILL.
		require.NoError(t, c.Signal(syscall.SIGSTOP))
		start := time.Now()
		code, err := c.Stop(t.Context(), 300*time.Millisecond)
		require.NoError(t, err)
		assert.Equal(t, 128+int(syscall.SIGKILL), code)
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
		require.ErrorIs(t, c.Signal(syscall.SIGTERM), os.ErrProcessDone)
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStdinStreaming(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	c, stdout, _ := newContainer(t, "cat")
	c.Stdin = strings.NewReader("line one\nline two\n")
	code, err := c.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "line one\nline two\n", stdout.String())

	c, stdout, stderr := newContainer(t, "env")
	c.Env = []string{"FOO=bar"}
	c.User = "user"
	_, err = c.Run(t.Context())
	require.NoError(t, err, stderr.String())
	assert.Contains(t, stdout.String(), "FOO=bar\n")
	assert.Contains(t, stdout.String(), "PATH="+berth.DefaultPath+"\n")
	assert.Contains(t, stdout.String(), "HOME=/home/user\n")
	assert.Contains(t, stdout.String(), "HOSTNAME=")
}

func TestUser(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	out, _, _ := output(t, func(c *berth.Container) { c.User = "user" }, "id")
	assert.Equal(t, "uid=1000 gid=1000 euid=1000 egid=1000 groups=10", strings.TrimSpace(out))
	out, _, _ = output(t, func(c *berth.Container) { c.User = "4242:77"; c.AdditionalGroups = []string{"wheel"} }, "id")
	assert.Equal(t, "uid=4242 gid=77 euid=4242 egid=77 groups=10", strings.TrimSpace(out))
	out, _, _ = output(t, func(c *berth.Container) { c.User = "user" }, "caps")
	assert.Contains(t, out, "CapEff:\t0000000000000000", "a non-root user keeps no capabilities")
}

func TestTTY(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	pr, pw := io.Pipe()
	c, _, _ := newContainer(t, "cat")
	c.TTY = true
	c.Stdin = pr
	var out lockedBuffer
	c.Stdout = &out
	require.NoError(t, c.Start(t.Context()))
	require.NoError(t, c.Resize(100, 40))
	_, err := pw.Write([]byte("typed\n"))
	require.NoError(t, err)
	waitFor(t, func() bool { return strings.Count(out.String(), "typed") >= 2 })
	_, err = pw.Write([]byte{4}) // ^D: end of input for cat
	require.NoError(t, err)
	code, err := c.Wait(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Contains(t, out.String(), "typed\r\n", "the terminal echoes and maps newlines")
	pw.Close()
}

func TestExec(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	c, _, _ := newContainer(t, "sleep", "100")
	c.Hostname = "exec-host"
	c.Env = []string{"FROM_CONTAINER=1"}
	require.NoError(t, c.Start(t.Context()))

	var out, errOut bytes.Buffer
	p := &berth.Process{Args: []string{"pids"}, Stdout: &out, Stderr: &errOut}
	require.NoError(t, c.Exec(t.Context(), p))
	code, err := p.Wait(t.Context())
	require.NoError(t, err, errOut.String())
	assert.Equal(t, 0, code)
	pids := strings.Fields(out.String())
	assert.Contains(t, pids, "1", "sees the container's init")
	assert.Len(t, pids, 2, "and itself, nothing of the host: %v", pids)

	out.Reset()
	p = &berth.Process{Args: []string{"hostname"}, Stdout: &out}
	require.NoError(t, c.Exec(t.Context(), p))
	_, err = p.Wait(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "exec-host", strings.TrimSpace(out.String()))

	out.Reset()
	p = &berth.Process{Args: []string{"env"}, Env: []string{"EXTRA=2"}, User: "user", Dir: "/tmp", Stdout: &out}
	require.NoError(t, c.Exec(t.Context(), p))
	_, err = p.Wait(t.Context())
	require.NoError(t, err)
	assert.Contains(t, out.String(), "FROM_CONTAINER=1")
	assert.Contains(t, out.String(), "EXTRA=2")

	out.Reset()
	p = &berth.Process{Args: []string{"caps"}, Stdout: &out}
	require.NoError(t, c.Exec(t.Context(), p))
	_, err = p.Wait(t.Context())
	require.NoError(t, err)
	assert.Contains(t, out.String(), "CapBnd:\t00000000a80425fb")

	p = &berth.Process{Args: []string{"no-such-program"}}
	err = c.Exec(t.Context(), p)
	var ie *berth.InitError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "exec", ie.Stage)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	_, err = c.Stop(t.Context(), 0)
	require.NoError(t, err)
	err = c.Exec(t.Context(), &berth.Process{Args: []string{"true"}})
	require.ErrorIs(t, err, os.ErrProcessDone)
}

func TestInitErrors(t *testing.T) {
	testutil.RequireRoot(t)
	forEachStart(t, testInitErrors)
}

func testInitErrors(t *testing.T) {
	testutil.CheckLeaks(t)
	tests := []struct {
		name   string
		mutate func(*berth.Container)
		stage  string
		is     error
	}{
		{"bad rootfs", func(c *berth.Container) { c.RootFS = "/nonexistent/rootfs" }, "rootfs", fs.ErrNotExist},
		{"missing executable", func(c *berth.Container) { c.Args = []string{"/bin/nope"} }, "exec", fs.ErrNotExist},
		{"missing in PATH", func(c *berth.Container) { c.Args = []string{"nope"} }, "exec", fs.ErrNotExist},
		{"unknown user", func(c *berth.Container) { c.User = "ghost" }, "user", fs.ErrNotExist},
		{"bad working directory", func(c *berth.Container) { c.Dir = "/no/such/dir" }, "cwd", fs.ErrNotExist},
		{"limit above the caller's", func(c *berth.Container) {
			c.Rlimits = []berth.Rlimit{{Type: 7, Soft: 1 << 40, Hard: 1 << 40}}
		}, "rlimits", fs.ErrPermission},
		{"shared mount namespace", func(c *berth.Container) { c.Share = namespaces.Mount }, "config", errors.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newContainer(t, "true")
			tt.mutate(c)
			err := c.Start(t.Context())
			var ie *berth.InitError
			require.ErrorAs(t, err, &ie)
			assert.Equal(t, tt.stage, ie.Stage, err.Error())
			assert.ErrorIs(t, err, tt.is)
			states, lerr := berth.List(t.Context(), c.StateDir)
			require.NoError(t, lerr)
			assert.Empty(t, states, "a failed start leaves no state")
		})
	}
}

func TestUserNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "userns")
	testutil.CheckLeaks(t)
	m := []namespaces.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	userns := func(c *berth.Container) { c.UserNS = &berth.UserNS{UIDs: m, GIDs: m} }
	out, errOut, code := output(t, userns, "cat", "/proc/self/uid_map")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, []string{"0", "100000", "65536"}, strings.Fields(out))
	out, _, _ = output(t, userns, "id")
	assert.True(t, strings.HasPrefix(out, "uid=0 gid=0"), out)

	c, _, _ := newContainer(t, "sleep", "100")
	userns(c)
	require.NoError(t, c.Start(t.Context()))
	var status []byte
	status, err := os.ReadFile("/proc/" + strconv.Itoa(c.PID()) + "/status")
	require.NoError(t, err)
	assert.Regexp(t, `Uid:\s+100000\s`, string(status), "container root is host uid 100000")
	var eout bytes.Buffer
	p := &berth.Process{Args: []string{"id"}, Stdout: &eout}
	require.NoError(t, c.Exec(t.Context(), p))
	_, err = p.Wait(t.Context())
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(eout.String(), "uid=100000"), "exec runs as the mapped host id: %s", eout.String())
}
