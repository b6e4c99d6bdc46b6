package testutil

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runPayload(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(Payload(t), args...)
	cmd.Args[0] = "payload"
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		return string(out), ee.ExitCode()
	}
	return string(out), 0
}

func TestPayloadApplets(t *testing.T) {
	tests := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"echo", "a", "b"}, "a b\n", 0},
		{[]string{"true"}, "", 0},
		{[]string{"false"}, "", 1},
		{[]string{"exit", "42"}, "", 42},
		{[]string{"exit", "x"}, "", 2},
		{[]string{"no-such-applet"}, "", 2},
		{[]string{"alloc", "4", "0.01"}, "allocated 4 MiB\n", 0},
		{[]string{"fork", "3"}, "forked 3 of 3\n", 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, code := runPayload(t, tt.args...)
			assert.Equal(t, tt.code, code)
			assert.Equal(t, tt.want, out)
		})
	}
}

func TestPayloadFDsListsStdio(t *testing.T) {
	out, code := runPayload(t, "fds")
	require.Equal(t, 0, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.GreaterOrEqual(t, len(lines), 3)
	for i, fd := range []string{"0 ", "1 ", "2 "} {
		assert.True(t, strings.HasPrefix(lines[i], fd), "line %q", lines[i])
	}
	for _, line := range lines {
		assert.NotContains(t, line, "/proc/self/fd", "the fd used to list is left out")
		assert.NotContains(t, line, "eventpoll", "the applet opens no runtime fd")
	}
}

func TestPayloadAppletsCalledByLinkName(t *testing.T) {
	names := PayloadApplets(t)
	assert.Contains(t, names, "sleep")
	assert.Contains(t, names, "listen")
	cmd := exec.Command(Payload(t))
	cmd.Args = []string{"echo", "via", "argv0"}
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "via argv0\n", string(out))
}
