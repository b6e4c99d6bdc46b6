package compose

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/benchmarks/internal/peer"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/netconfig"
)

// TestCompareBridgeRun times, interleaved round after round so that the
// load of a shared machine falls on all alike:
//
//   - berth CLI, image: `berth run --rm --network bridge -p 18080:80 payload true`
//   - berth CLI, rootfs: the same with --rootfs DIR instead of an image
//   - berth in-process: Runtime.NewContainer(image) with the same network, Run
//   - crun + CNI: a new network namespace, CNI bridge ADD (host-local
//     IPAM) and portmap ADD (18081:80), `crun run` of /bin/true joining
//     that namespace, portmap DEL, bridge DEL, the namespace closed
//
// Opt in with BERTH_BENCH_ROUNDS=N (as root):
//
//	BERTH_BENCH_ROUNDS=30 go test -count=1 -run CompareBridgeRun -v ./benchmarks/compose
func TestCompareBridgeRun(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("BERTH_BENCH_ROUNDS"))
	if rounds <= 0 {
		t.Skip("set BERTH_BENCH_ROUNDS to run the comparison")
	}
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "tool:crun")
	testutil.RequireFeature(t, "tool:runc") // for `runc spec`
	testutil.RequireFeature(t, "veth")
	testutil.RequireFeature(t, "bridge")
	if _, err := os.Stat(filepath.Join(cniPlugins, "portmap")); err != nil {
		t.Skipf("containernetworking-plugins missing: %v", err)
	}
	host := hostNS(t)
	rootfs := testutil.Rootfs(t)
	cli := buildCLI(t)
	stateDir, root := t.TempDir(), t.TempDir()
	berthCLI := func(args ...string) error {
		cmd := exec.Command(cli, append([]string{"--state-dir", stateDir, "--root", root}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := inNS(host, cmd.Run); err != nil {
			return fmt.Errorf("berth %v: %w: %s", args, err, out.Bytes())
		}
		return nil
	}
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	writeTar(t, rootfs, tarball)
	if err := berthCLI("import", tarball, "payload"); err != nil {
		t.Fatal(err)
	}
	inproc := inProcessRunner(t, host, rootfs)
	crunCNI := crunCNIRunner(t, host, rootfs)
	variants := []peer.Variant{
		{Name: "berth CLI, image", Run: func(int) error {
			return berthCLI("run", "--rm", "--network", "bridge", "-p", "18080:80", "payload", "true")
		}},
		{Name: "berth CLI, --rootfs", Run: func(int) error {
			return berthCLI("run", "--rm", "--network", "bridge", "-p", "18080:80", "--rootfs", rootfs, "true")
		}},
		{Name: "berth in-process, image", Run: inproc},
		{Name: "crun + CNI bridge + portmap", Run: crunCNI},
	}
	peer.Report(t, variants, peer.Interleave(t, rounds, variants))
}

// inProcessRunner runs the image on the bridge through the library, the
// Runtime opened once, as a program embedding Berth would.
func inProcessRunner(t *testing.T, host *os.File, rootfs string) func(int) error {
	rt, err := berth.Open(t.TempDir(), berth.WithStateDir(t.TempDir()),
		berth.WithHostNetNS(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), host.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	tarball := filepath.Join(t.TempDir(), "rootfs.tar")
	writeTar(t, rootfs, tarball)
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, err := rt.Images().ImportRootfs(t.Context(), f, &berth.RootfsOptions{Names: []string{"payload"}})
	if err != nil {
		t.Fatal(err)
	}
	return func(int) error {
		c := rt.NewContainer(info.Image)
		c.Args = []string{"true"}
		c.Network = &berth.Network{Mode: berth.NetworkBridge, Ports: []netconfig.Port{{HostPort: 18082, ContainerPort: 80}}}
		code, err := c.Run(t.Context())
		if err == nil && code != 0 {
			err = fmt.Errorf("exit code %d", code)
		}
		return err
	}
}

func writeTar(t *testing.T, dir, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := layers.Diff(t.Context(), "", dir, f, nil); err != nil {
		t.Fatal(err)
	}
}

func buildCLI(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "berth")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/berthlabs/berth/examples/berth")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the CLI: %v: %s", err, out)
	}
	return bin
}

// hostNS makes the network namespace that plays the host, loopback up.
func hostNS(t *testing.T) *os.File {
	ns, err := newNetNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	h, err := netconfig.Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.SetUp("lo"); err != nil {
		t.Fatal(err)
	}
	return ns
}

// newNetNS creates a network namespace that lives while the returned
// file is open (what `ip netns add` does, minus the bind mount).
func newNetNS() (*os.File, error) {
	res := make(chan any, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies in the namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			res <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			res <- err
			return
		}
		res <- f
	}()
	switch r := (<-res).(type) {
	case *os.File:
		return r, nil
	case error:
		return nil, r
	}
	panic("unreachable")
}

// inNS runs fn on a locked thread that joined ns, so that processes it
// starts live there, then returns the thread (or drops it if it cannot).
func inNS(ns *os.File, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer own.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		ferr := fn()
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- ferr
	}()
	return <-errc
}

// writeJSON writes v to path.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
