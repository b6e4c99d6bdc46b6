package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func chrootRun(t *testing.T, root string, cred *syscall.Credential, args ...string) string {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Path = args[0]
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root, Credential: cred}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%v: %s", args, out)
	return string(out)
}

func TestRootfsRunsPayloadChrooted(t *testing.T) {
	RequireRoot(t)
	root := Rootfs(t)

	assert.Equal(t, "hello\n", chrootRun(t, root, nil, "/bin/echo", "hello"))
	ls := strings.Fields(chrootRun(t, root, nil, "/bin/ls", "/"))
	assert.Equal(t, []string{"bin", "dev", "etc", "home", "proc", "root", "sys", "tmp"}, ls)
	assert.Contains(t, chrootRun(t, root, nil, "/bin/cat", "/etc/passwd"), "user:x:1000:1000:")
	assert.Equal(t, "uid=1000 gid=1000 euid=1000 egid=1000 groups=10\n",
		chrootRun(t, root, &syscall.Credential{Uid: 1000, Gid: 1000, Groups: []uint32{10}}, "/bin/id"))
	chrootRun(t, root, &syscall.Credential{Uid: 1000, Gid: 1000}, "/bin/write", "/tmp/x", "user can write /tmp")
	data, err := os.ReadFile(filepath.Join(root, "tmp/x"))
	require.NoError(t, err)
	assert.Equal(t, "user can write /tmp", string(data))
}

func TestRootfsLayout(t *testing.T) {
	root := Rootfs(t)
	fi, err := os.Stat(filepath.Join(root, "tmp"))
	require.NoError(t, err)
	assert.Equal(t, os.ModeDir|os.ModeSticky|0o777, fi.Mode())
	target, err := os.Readlink(filepath.Join(root, "bin/sleep"))
	require.NoError(t, err)
	assert.Equal(t, "payload", target)
	_, err = os.Lstat(filepath.Join(root, "bin/list"))
	assert.ErrorIs(t, err, os.ErrNotExist, "list is the payload's own applet, not a command")
}
