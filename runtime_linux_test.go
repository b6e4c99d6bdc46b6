package berth_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/namespaces"
	"github.com/berthlabs/berth/netconfig"
)

// runtimeImage imports the payload rootfs, plus padMiB of random data in
// /pad, as the image name into rt's store.
func runtimeImage(t *testing.T, rt *berth.Runtime, name string, padMiB int) *berth.Image {
	t.Helper()
	dir := testutil.Rootfs(t)
	if padMiB > 0 {
		pad := make([]byte, padMiB<<20)
		_, _ = rand.Read(pad)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "pad"), pad, 0o644))
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := layers.Diff(context.Background(), "", dir, pw, nil)
		pw.CloseWithError(err)
	}()
	info, err := rt.Images().ImportRootfs(t.Context(), pr, &berth.RootfsOptions{
		Names: []string{name}, Config: ocispec.ImageConfig{Cmd: []string{"sleep", "3600"}, WorkingDir: "/tmp"},
	})
	require.NoError(t, err)
	return info.Image
}

// diskUse sums the blocks of the distinct inodes under dir.
func diskUse(t *testing.T, dir string) int64 {
	t.Helper()
	seen := map[uint64]bool{}
	var total int64
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if !seen[st.Ino] {
			seen[st.Ino] = true
			total += st.Blocks * 512
		}
		return nil
	}))
	return total
}

// containerSnapshots lists the containers' snapshots in rt.
func containerSnapshots(t *testing.T, rt *berth.Runtime) []string {
	t.Helper()
	var out []string
	require.NoError(t, rt.Snapshotter().Walk(t.Context(), func(_ context.Context, info layers.SnapshotInfo) error {
		if _, ok := info.Labels[berth.SnapshotLabelContainer]; ok {
			out = append(out, info.Name)
		}
		return nil
	}))
	return out
}

func TestImageContainerDefaultsAndSnapshot(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	rt := openRuntime(t, "")
	img := runtimeImage(t, rt, "payload:1", 0)
	c := rt.NewContainer(img)
	assert.Equal(t, []string{"sleep", "3600"}, c.Args, "the image's command")
	assert.Equal(t, "/tmp", c.Dir)
	out := &lockedBuffer{}
	c.Args, c.Stdout = []string{"pwd"}, out
	code, err := c.Run(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Equal(t, "/tmp\n", out.String())
	assert.Empty(t, containerSnapshots(t, rt), "Run deleted the snapshot")

	// A container's writes stay in its own snapshot.
	w := rt.NewContainer(img)
	w.Args = []string{"write", "/tmp/mine", "hello"}
	require.NoError(t, w.Start(t.Context()))
	t.Cleanup(func() { _ = w.Delete(context.Background()) })
	_, err = w.Wait(t.Context())
	require.NoError(t, err)
	st, err := w.State(t.Context())
	require.NoError(t, err)
	require.NotNil(t, st.Snapshot)
	assert.Equal(t, img.Digest().String(), st.Image)
	mounts, err := rt.Snapshotter().Mounts(t.Context(), st.Snapshot.Key)
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(layers.UpperDir(mounts), "tmp", "mine"))
	require.NoError(t, err)
	assert.Equal(t, "hello", strings.TrimSpace(string(data)))
	r := rt.NewContainer(img)
	r.Args, r.Stdout = []string{"ls", "/tmp"}, &lockedBuffer{}
	_, err = r.Run(t.Context())
	require.NoError(t, err)
	assert.NotContains(t, r.Stdout.(*lockedBuffer).String(), "mine", "another container does not see it")
	require.NoError(t, w.Delete(t.Context()))
	assert.Empty(t, containerSnapshots(t, rt))
}

// lowerDirOf returns the overlay lowerdir of the root mount of pid.
func lowerDirOf(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == "/" && strings.Contains(line, " - overlay ") {
			for _, o := range strings.Split(f[len(f)-1], ",") {
				if v, ok := strings.CutPrefix(o, "lowerdir="); ok {
					return v
				}
			}
		}
	}
	return ""
}

func TestHundredContainersShareOneImage(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "overlay")
	testutil.CheckLeaks(t)
	rt := openRuntime(t, "", berth.WithSnapshotter("overlay"))
	const padMiB = 32
	img := runtimeImage(t, rt, "big:1", padMiB)
	_, err := img.Unpack(t.Context(), rt.Snapshotter())
	require.NoError(t, err)
	snapshots := filepath.Join(rt.Root(), "snapshots")
	before := diskUse(t, snapshots)
	require.Greater(t, before, int64(padMiB<<20), "the unpacked image")

	const n, workers = 100, 4
	ctrs := make([]*berth.Container, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c := rt.NewContainer(img)
				c.ID, c.Detach = fmt.Sprintf("share-%03d", i), true
				c.Args = []string{"sleep", "3600"}
				ctrs[i] = c
				if err := c.Start(t.Context()); err != nil {
					errs <- fmt.Errorf("%s: %w", c.ID, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	t.Cleanup(func() {
		for _, c := range ctrs {
			_ = c.Delete(context.Background())
		}
	})
	for err := range errs {
		require.NoError(t, err)
	}
	after := diskUse(t, snapshots)
	growth := after - before
	t.Logf("unpacked image %d KiB; %d containers added %d KiB (%d KiB each)", before>>10, n, growth>>10, growth/n>>10)
	assert.Less(t, growth, int64(n*64<<10), "each container adds only its (empty) upper dir")
	lower := lowerDirOf(t, ctrs[0].PID())
	require.NotEmpty(t, lower)
	for _, c := range ctrs[1:] {
		require.Equal(t, lower, lowerDirOf(t, c.PID()), "%s shares the image's layer", c.ID)
	}
	assert.Len(t, containerSnapshots(t, rt), n)

	for _, c := range ctrs {
		require.NoError(t, c.Delete(t.Context()))
	}
	assert.Empty(t, containerSnapshots(t, rt))
	assert.InDelta(t, before, diskUse(t, snapshots), float64(256<<10), "back to the image alone")
}

func TestRunRmCyclesLeaveNothing(t *testing.T) {
	ns := requireBridgeNetworking(t)
	testutil.CheckLeaks(t)
	rt := openRuntime(t, ns)
	img := runtimeImage(t, rt, "payload:1", 0)
	const cycles, workers = 200, 4
	var wg sync.WaitGroup
	errs := make(chan error, cycles)
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for i := w; i < cycles; i += workers {
				c := rt.NewContainer(img)
				c.Args = []string{"true"}
				c.Network = &berth.Network{Mode: berth.NetworkBridge, Ports: []netconfig.Port{{ContainerPort: 80}}}
				code, err := c.Run(t.Context())
				if err == nil && code != 0 {
					err = fmt.Errorf("exit code %d", code)
				}
				if err != nil {
					errs <- fmt.Errorf("cycle %d: %w", i, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("%d run/rm cycles, %d at a time: %v", cycles, workers, time.Since(start))
	states, err := rt.List(t.Context())
	require.NoError(t, err)
	assert.Empty(t, states, "no state")
	leases, err := rt.IPAM().Leases(t.Context(), berth.DefaultBridge)
	require.NoError(t, err)
	assert.Empty(t, leases, "no lease")
	assert.Empty(t, containerSnapshots(t, rt), "no snapshot")
	links, err := openNetHandle(t, ns).Links()
	require.NoError(t, err)
	for _, l := range links {
		assert.NotEqual(t, "veth", l.Type, "veth %s left behind", l.Name)
	}
	// Mounts, cgroups and processes: CheckLeaks.
}

const runtimeStarterEntrypoint = "berth-test-runtime-starter"

func init() {
	namespaces.Register(runtimeStarterEntrypoint, func(ctx context.Context) error {
		root, stateDir, hostNS, step := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
		berth.SetStartHook(func(s string) {
			if s == step {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		})
		rt, err := berth.Open(root, berth.WithStateDir(stateDir), berth.WithHostNetNS(hostNS))
		if err != nil {
			return err
		}
		img, err := rt.Images().Get(ctx, "payload:1")
		if err != nil {
			return err
		}
		c := rt.NewContainer(img)
		c.ID = "victim"
		c.Network = &berth.Network{Mode: berth.NetworkBridge, Ports: []netconfig.Port{{ContainerPort: 80}}}
		return c.Start(ctx)
	})
}

// TestRuntimeGCAfterCrash kills a program at each step of starting a
// bridge-mode container from an image, and checks that Runtime.GC removes
// the state, cgroup, veth, lease and snapshot it left.
func TestRuntimeGCAfterCrash(t *testing.T) {
	ns := requireBridgeNetworking(t)
	testutil.CheckLeaks(t)
	root, stateDir := t.TempDir(), t.TempDir()
	rt, err := berth.Open(root, berth.WithStateDir(stateDir), berth.WithHostNetNS(ns))
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	runtimeImage(t, rt, "payload:1", 0)
	for _, step := range []string{"state", "cgroup", "spawned", "network", "running"} {
		t.Run(step, func(t *testing.T) {
			cmd, err := namespaces.Command(t.Context(), runtimeStarterEntrypoint, 0, root, stateDir, ns, step)
			require.NoError(t, err)
			cmd.Stderr = os.Stderr
			err = cmd.Run()
			require.Error(t, err)
			assert.Equal(t, "signal: killed", err.Error())
			require.Len(t, containerSnapshots(t, rt), 1, "the crash left a snapshot")

			removed, err := rt.GC(t.Context())
			require.NoError(t, err)
			assert.Equal(t, []string{"victim"}, removed)
			assert.Empty(t, containerSnapshots(t, rt))
			leases, err := rt.IPAM().Leases(t.Context(), berth.DefaultBridge)
			require.NoError(t, err)
			assert.Empty(t, leases)
			waitFor(t, func() bool {
				links, err := openNetHandle(t, ns).Links()
				require.NoError(t, err)
				for _, l := range links {
					if l.Type == "veth" {
						return false
					}
				}
				return true
			})
		})
	}
}

// TestDetachedBridgeContainerAfterMonitorCrash kills the monitor of a
// detached bridge-mode container from an image: the container dies with
// it, and Runtime.GC removes its cgroup, veth, lease, snapshot and state.
func TestDetachedBridgeContainerAfterMonitorCrash(t *testing.T) {
	ns := requireBridgeNetworking(t)
	testutil.CheckLeaks(t)
	rt := openRuntime(t, ns)
	img := runtimeImage(t, rt, "payload:1", 0)
	c := rt.NewContainer(img)
	c.ID, c.Detach = "orphan", true
	c.Network = &berth.Network{Mode: berth.NetworkBridge, Ports: []netconfig.Port{{ContainerPort: 80}}}
	require.NoError(t, c.Start(t.Context()))
	st, err := c.State(t.Context())
	require.NoError(t, err)
	require.NotZero(t, st.OwnerPID)
	leases, err := rt.IPAM().Leases(t.Context(), berth.DefaultBridge)
	require.NoError(t, err)
	require.Len(t, leases, 1)

	removed, err := rt.GC(t.Context())
	require.NoError(t, err)
	assert.Empty(t, removed, "the monitor is alive")

	require.NoError(t, syscall.Kill(st.OwnerPID, syscall.SIGKILL))
	waitFor(t, func() bool { return syscall.Kill(st.PID, 0) != nil }) // the init dies with its parent
	removed, err = rt.GC(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []string{"orphan"}, removed)
	assert.Empty(t, containerSnapshots(t, rt))
	leases, err = rt.IPAM().Leases(t.Context(), berth.DefaultBridge)
	require.NoError(t, err)
	assert.Empty(t, leases)
	_, err = os.Stat(filepath.Join("/sys/fs/cgroup/pids/berth", "orphan"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	waitFor(t, func() bool {
		links, err := openNetHandle(t, ns).Links()
		require.NoError(t, err)
		for _, l := range links {
			if l.Type == "veth" {
				return false
			}
		}
		return true
	})
}
