package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/benchmarks/internal/peer"
	"github.com/berthlabs/berth/internal/testutil"
)

// TestCompareLifecycle times the four lifecycles interleaved, round after
// round, so that the load of a shared machine falls on all of them alike,
// and prints the median and quartiles of each. Opt in with
// BERTH_BENCH_ROUNDS=N (as root):
//
//	BERTH_BENCH_ROUNDS=60 go test -run CompareLifecycle -v ./benchmarks/runtime
func TestCompareLifecycle(t *testing.T) {
	rounds, _ := strconv.Atoi(os.Getenv("BERTH_BENCH_ROUNDS"))
	if rounds <= 0 {
		t.Skip("set BERTH_BENCH_ROUNDS to run the comparison")
	}
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "tool:runc")
	testutil.RequireFeature(t, "tool:crun")
	rootfs := testutil.Rootfs(t)
	stateDir := t.TempDir()
	cli := buildCLIT(t)
	bundle := makeBundleT(t, rootfs)
	crun := peer.NewCrunRunner(t, "state-crun")
	variants := []peer.Variant{
		{Name: "berth in-process", Run: func(int) error {
			c := &berth.Container{RootFS: rootfs, Args: []string{"/bin/true"}, StateDir: stateDir}
			if _, err := c.Run(t.Context()); err != nil {
				return err
			}
			return c.Delete(t.Context())
		}},
		{Name: "berth CLI", Run: func(int) error {
			return exec.Command(cli, "--state-dir", stateDir, "run", "--rm", "--rootfs", rootfs, "/bin/true").Run()
		}},
		{Name: "runc run", Run: func(i int) error {
			return exec.Command("runc", "--root", filepath.Join(bundle, "state-runc"), "run", "--bundle", bundle, fmt.Sprint("c-runc-", i)).Run()
		}},
		{Name: "crun run", Run: func(i int) error { return crun(bundle, fmt.Sprint("c-crun-", i)) }},
	}
	peer.Report(t, variants, peer.Interleave(t, rounds, variants))
}
