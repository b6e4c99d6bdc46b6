package berth_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

// newContainer returns a container on a fresh payload rootfs with its own
// state directory, deleted by t's cleanup.
func newContainer(t *testing.T, args ...string) (*berth.Container, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &berth.Container{
		RootFS:   testutil.Rootfs(t),
		Args:     args,
		StateDir: t.TempDir(),
		Stdout:   &stdout,
		Stderr:   &stderr,
	}
	t.Cleanup(func() { _ = c.Delete(t.Context()) })
	return c, &stdout, &stderr
}

func TestRunEcho(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	c, stdout, stderr := newContainer(t, "echo", "hello", "world")
	code, err := c.Run(t.Context())
	require.NoError(t, err, stderr.String())
	assert.Equal(t, 0, code)
	assert.Equal(t, "hello world\n", stdout.String())
	assert.Empty(t, strings.TrimSpace(stderr.String()))
}
