package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

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
	variants := []struct {
		name string
		run  func(i int) error
	}{
		{"berth in-process", func(int) error {
			c := &berth.Container{RootFS: rootfs, Args: []string{"/bin/true"}, StateDir: stateDir}
			if _, err := c.Run(t.Context()); err != nil {
				return err
			}
			return c.Delete(t.Context())
		}},
		{"berth CLI", func(int) error {
			return exec.Command(cli, "--state-dir", stateDir, "run", "--rm", "--rootfs", rootfs, "/bin/true").Run()
		}},
		{"runc run", func(i int) error {
			return exec.Command("runc", "--root", filepath.Join(bundle, "state-runc"), "run", "--bundle", bundle, fmt.Sprint("c-runc-", i)).Run()
		}},
		{"crun run", func(i int) error { return crun(bundle, fmt.Sprint("c-crun-", i)) }},
	}
	times := make([][]time.Duration, len(variants))
	for i := range rounds {
		for v, variant := range variants {
			start := time.Now()
			if err := variant.run(i); err != nil {
				t.Fatalf("%s: %v", variant.name, err)
			}
			times[v] = append(times[v], time.Since(start))
		}
	}
	crunMedian := peer.Median(times[3])
	for v, variant := range variants {
		d := times[v]
		slices.Sort(d)
		t.Logf("%-18s median %6.1f ms  p25 %6.1f  p75 %6.1f  (%.2fx crun)", variant.name, peer.MS(peer.Median(d)), peer.MS(d[len(d)/4]), peer.MS(d[len(d)*3/4]),
			float64(peer.Median(d))/float64(crunMedian))
	}
}
