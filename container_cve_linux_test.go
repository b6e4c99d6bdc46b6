package berth_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

// TestInitBinaryCannotBeOverwritten is CVE-2019-5736: the re-executed init
// runs sealed, so neither host root nor container root can open its
// /proc/PID/exe for writing. (The direct start has no init: the only
// process of this program in the container's PID namespace is the child
// between fork and exec, before any process of the container exists.)
func TestInitBinaryCannotBeOverwritten(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	berth.ForceReexec(t)
	var initPID int
	var hostErr error
	var inContainer string
	var stateDir string
	fired := false
	berth.SetStartHook(func(step string) {
		if step != "spawned" || fired {
			return
		}
		fired = true
		// The init is alive, waiting for its config.
		states, err := berth.List(t.Context(), stateDir)
		if err != nil || len(states) != 1 {
			return
		}
		st := states[0].PID
		initPID = st
		f, err := os.OpenFile("/proc/"+strconv.Itoa(st)+"/exe", os.O_WRONLY, 0)
		if err == nil {
			f.Close()
		}
		hostErr = err
		// Container root, sharing the host PID namespace to see the init.
		out, errOut, _ := output(t, func(c *berth.Container) { c.Share = namespaces.PID; c.Unconfined = false },
			"write", "/proc/"+strconv.Itoa(st)+"/exe", "pwned")
		inContainer = out + errOut
	})
	t.Cleanup(func() { berth.SetStartHook(nil) })
	outer, _, _ := newContainer(t, "true")
	stateDir = outer.StateDir
	code, err := func() (int, error) {
		defer berth.SetStartHook(nil)
		return outer.Run(t.Context())
	}()
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	require.NotZero(t, initPID)
	require.Error(t, hostErr, "host root opened the init's exe for writing")
	assert.NotContains(t, inContainer, "wrote")
	assert.NotEmpty(t, inContainer)
	t.Logf("host root: %v; container root: %s", hostErr, inContainer)
}
