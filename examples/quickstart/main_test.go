package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
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

// testBridge is the bridge the test runs the quickstart on, apart from
// the default one of manual runs.
const testBridge = "berthqst0"

// requireQuickstartFeatures skips where the machine lacks what the
// quickstart needs: a bridge and veth pairs, and a memory controller.
func requireQuickstartFeatures(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "netns")
	testutil.RequireFeature(t, "veth")
	testutil.RequireFeature(t, "bridge")
	if !testutil.HasFeature("cgroup2:memory") {
		testutil.RequireFeature(t, "cgroup1:memory")
	}
	testutil.RequireFeature(t, "tool:go")
}

func buildQuickstart(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "quickstart")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

// runQuickstart runs the binary with TMPDIR set to tmp and returns its
// output, requiring success.
func runQuickstart(t *testing.T, bin, tmp string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, append([]string{"--bridge", testBridge}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return stdout.String()
}

func bridgeExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// TestQuickstart runs the quickstart as a user would and checks that it
// did every step and left nothing behind: no mount, cgroup, link,
// process or file, and not its bridge or temporary root.
func TestQuickstart(t *testing.T) {
	requireQuickstartFeatures(t)
	bin := buildQuickstart(t)
	require.False(t, bridgeExists(testBridge), "bridge %s exists before the test", testBridge)
	testutil.CheckLeaks(t)
	tmp := t.TempDir()

	out := runQuickstart(t, bin, tmp)
	for _, want := range []string{
		"[1/5] compiling the app", "static binary",
		"[2/5] building the image", "self-test passed: Hello from a Berth container", `[5/6] RUN ["/app", "-selftest"]`,
		"[3/5] running it: 64 MiB memory limit", "[4/5] fetching http://127.0.0.1:",
		"200 OK", "Hello from a Berth container, from ",
		"[5/5] reading the container's resource use", "of 64.0 MiB", "eth0: received",
		"cleaned up in", "bridge " + testBridge, "done in",
	} {
		assert.Contains(t, out, want)
	}
	assert.False(t, bridgeExists(testBridge), "the bridge created for the run is gone")
	ents, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, ents, "the temporary root and build directory are gone")
}

// TestQuickstartKeptRoot runs it twice on a root of the caller's: the
// second build is all cache hits, the image stays in the root, and the
// container, its state and its lease do not.
func TestQuickstartKeptRoot(t *testing.T) {
	requireQuickstartFeatures(t)
	bin := buildQuickstart(t)
	require.False(t, bridgeExists(testBridge), "bridge %s exists before the test", testBridge)
	testutil.CheckLeaks(t)
	tmp, root := t.TempDir(), t.TempDir()

	runQuickstart(t, bin, tmp, "--root", root, "--memory", "32")
	out := runQuickstart(t, bin, tmp, "--root", root, "--memory", "32")
	assert.Contains(t, out, "[2/6] COPY app /app")
	assert.Equal(t, 2, strings.Count(out, " cached\n"), "COPY and RUN are cache hits:\n%s", out)
	assert.Contains(t, out, "of 32.0 MiB")
	assert.False(t, bridgeExists(testBridge))

	rt, err := berth.Open(root, berth.WithStateDir(filepath.Join(root, "state")))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, rt.Close()) })
	list, err := rt.Images().List(t.Context())
	require.NoError(t, err)
	require.Len(t, list, 1, "the image is kept in the root")
	assert.Equal(t, []string{"docker.io/library/quickstart:latest"}, list[0].Names)
	states, err := rt.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, states, "no container state is left")
	require.NoError(t, rt.Snapshotter().Walk(t.Context(), func(_ context.Context, si layers.SnapshotInfo) error {
		assert.Empty(t, si.Labels[berth.SnapshotLabelContainer], "container snapshot %s is left", si.Name)
		return nil
	}))
	pools, err := rt.IPAM().Pools(t.Context())
	require.NoError(t, err)
	assert.Empty(t, pools, "the bridge's address pool went with the bridge")
	ents, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, ents, "the build directory is gone")
}
