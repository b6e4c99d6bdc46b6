package runtime

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

// TestIdleContainers starts BERTH_BENCH_IDLE detached containers running
// `sleep`, and reports how long that took and how much host memory each
// costs beyond the payload's own. The payload's own is measured, not
// estimated: as many bare `sleep` processes (the same binary, on the host,
// no container) are started first and left running, and what they add is
// what the payload costs anyway (its pages, page tables, task structures,
// kernel stacks). Then the containers are started, and what they add less
// what the bare processes added, per container, is the figure. Nothing is
// freed between the three samples, so neither run reuses memory the other
// freed. The figure is the memory that cannot be reclaimed: unreclaimable
// slab, kernel stacks, page tables, per-CPU and shared memory, and the
// anonymous memory other than the payloads' (whose own, RssAnon, is
// measured per process in both runs and taken out). Also reported: the
// same with the payloads' anonymous memory left in, and the growth of
// MemTotal-MemAvailable (host memory as free(1) sees it), which the page
// cache and the kernel's estimate of reclaimable memory move by more than
// 100 KiB per process from one run to the next. Opt in (as root):
//
//	BERTH_BENCH_IDLE=1000 go test -run IdleContainers -v -timeout 30m ./benchmarks/runtime
func TestIdleContainers(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BERTH_BENCH_IDLE"))
	if n <= 0 {
		t.Skip("set BERTH_BENCH_IDLE to run it")
	}
	testutil.RequireRoot(t)
	rootfs := testutil.Rootfs(t)
	stateDir := t.TempDir()
	// Warm up: the monitor and the page cache.
	warm := &berth.Container{RootFS: rootfs, Args: []string{"true"}, StateDir: stateDir, Detach: true}
	require.NoError(t, warm.Start(t.Context()))
	_, _ = warm.Wait(t.Context())
	require.NoError(t, warm.Delete(t.Context()))
	time.Sleep(2 * time.Second)

	before, slabBefore := sampleMemory(t), sampleSlab(t)
	bare := startBare(t, filepath.Join(rootfs, "bin/sleep"), n)
	time.Sleep(3 * time.Second) // let the payloads settle
	between, slabBetween := sampleMemory(t), sampleSlab(t)
	ctrs, elapsed := startIdle(t, rootfs, stateDir, n)
	time.Sleep(3 * time.Second)
	after, slabAfter := sampleMemory(t), sampleSlab(t)

	var threads, bareThreads int
	var anon, bareAnon int64 // the payloads' own anonymous memory, KiB
	for i, c := range ctrs {
		threads += threadCount(t, c.PID())
		bareThreads += threadCount(t, bare[i].Process.Pid)
		anon += rssAnon(t, c.PID())
		bareAnon += rssAnon(t, bare[i].Process.Pid)
	}
	t.Logf("%d containers started in %v (%.1f ms each, 8 at a time)", n, elapsed.Round(time.Millisecond), float64(elapsed.Milliseconds())/float64(n))
	t.Logf("threads: %d in the bare payloads, %d in the containers' payloads", bareThreads, threads)
	t.Logf("payload RssAnon: %.1f KiB each bare, %.1f KiB each in a container", float64(bareAnon)/float64(n), float64(anon)/float64(n))
	t.Logf("monitor RSS %d MiB", monitorRSS(t)>>20)
	t.Logf("%-14s %12s %12s %12s", "KiB", "bare, each", "container", "beyond")
	for i, k := range memoryKeys {
		b, c := float64(between[i]-before[i])/float64(n), float64(after[i]-between[i])/float64(n)
		t.Logf("%-14s %12.1f %12.1f %+12.1f", k, b, c, c-b)
	}
	logSlabs(t, n, slabBefore, slabBetween, slabAfter)
	used := func(m []int64) int64 { return m[0] - m[1] }
	sum := func(from int) func([]int64) int64 {
		return func(m []int64) (total int64) {
			for _, v := range m[from:] {
				total += v
			}
			return total
		}
	}
	perCtr := func(f func([]int64) int64) int64 {
		return ((f(after) - f(between)) - (f(between) - f(before))) / int64(n)
	}
	// The payloads' anonymous memory is theirs, whatever runs them: it is
	// taken out of AnonPages in both runs, which leaves the monitor's and
	// any other anonymous memory the containers cost.
	otherAnon := ((after[2] - between[2] - anon) - (between[2] - before[2] - bareAnon)) / int64(n)
	kernel := perCtr(sum(3)) // everything unreclaimable but AnonPages
	t.Logf("beyond the payload's own, per container: %d KiB that cannot be reclaimed (%d KiB kernel, %d KiB anonymous memory not the payload's)",
		kernel+otherAnon, kernel, otherAnon)
	t.Logf("the same with the payloads' own anonymous memory in both runs' AnonPages: %d KiB; as MemTotal-MemAvailable: %d KiB",
		perCtr(sum(2)), perCtr(used))
}

// rssAnon returns the anonymous memory process pid has in RAM, in KiB.
func rssAnon(t *testing.T, pid int) int64 {
	return readKB(t, fmt.Sprintf("/proc/%d/status", pid), "RssAnon:")[0]
}

// startBare starts n processes of bin with the argument 3600 on the host,
// killed and reaped at the test's end.
func startBare(t *testing.T, bin string, n int) []*exec.Cmd {
	cmds := make([]*exec.Cmd, 0, n)
	t.Cleanup(func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	})
	for range n {
		c := exec.Command(bin, "3600")
		require.NoError(t, c.Start())
		cmds = append(cmds, c)
	}
	return cmds
}

// startIdle starts n detached containers running `sleep 3600`, 8 at a
// time, deleted at the test's end, and returns them with the time taken.
func startIdle(t *testing.T, rootfs, stateDir string, n int) ([]*berth.Container, time.Duration) {
	ctrs := make([]*berth.Container, n)
	t.Cleanup(func() { deleteAll(ctrs) })
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c := &berth.Container{RootFS: rootfs, Args: []string{"sleep", "3600"}, StateDir: stateDir, Detach: true}
				if err := c.Start(context.Background()); err != nil {
					errs <- fmt.Errorf("container %d: %w", i, err)
					continue
				}
				ctrs[i] = c
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ctrs, elapsed
}

func deleteAll(ctrs []*berth.Container) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, c := range ctrs {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = c.Delete(context.Background())
		}()
	}
	wg.Wait()
}

// memoryKeys are the /proc/meminfo lines sampled: MemTotal and
// MemAvailable, then the memory that cannot be reclaimed.
var memoryKeys = []string{"MemTotal:", "MemAvailable:", "AnonPages:", "Shmem:", "SUnreclaim:", "KernelStack:", "PageTables:", "Percpu:"}

// sampleSlab returns the bytes each slab cache holds (all its slabs).
func sampleSlab(t *testing.T) map[string]int64 {
	data, err := os.ReadFile("/proc/slabinfo")
	require.NoError(t, err)
	out := map[string]int64{}
	for _, line := range strings.Split(string(data), "\n")[2:] {
		// name active_objs num_objs objsize objperslab pagesperslab : ...
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		objs, _ := strconv.ParseInt(f[2], 10, 64)
		size, _ := strconv.ParseInt(f[3], 10, 64)
		out[f[0]] = objs * size
	}
	return out
}

// logSlabs logs the slab caches that grew most, per container, beyond
// what they grew per bare payload.
func logSlabs(t *testing.T, n int, before, between, after map[string]int64) {
	type growth struct {
		name           string
		bare, ctr, net float64
	}
	var gs []growth
	for name := range after {
		b := float64(between[name]-before[name]) / float64(n) / 1024
		c := float64(after[name]-between[name]) / float64(n) / 1024
		gs = append(gs, growth{name, b, c, c - b})
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].net > gs[j].net })
	t.Logf("slab caches that grew most (KiB per container, beyond the bare payload's):")
	for _, g := range gs[:min(15, len(gs))] {
		t.Logf("  %-24s %+8.1f (bare %.1f)", g.name, g.net, g.bare)
	}
}

// sampleMemory returns the values of memoryKeys, in KiB.
func sampleMemory(t *testing.T) []int64 {
	return readKB(t, "/proc/meminfo", memoryKeys...)
}

func monitorRSS(t *testing.T) int64 {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		data, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err == nil && strings.HasPrefix(string(data), "berth-init-moni") {
			return readKB(t, "/proc/"+e.Name()+"/status", "VmRSS:")[0] << 10
		}
	}
	return 0
}

// readKB returns the values, in kB, of the given keys of a /proc file.
func readKB(t *testing.T, path string, keys ...string) []int64 {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	out := make([]int64, len(keys))
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		for i, k := range keys {
			if len(fields) >= 2 && fields[0] == k {
				out[i], _ = strconv.ParseInt(fields[1], 10, 64)
			}
		}
	}
	return out
}

func threadCount(t *testing.T, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	return len(entries)
}
