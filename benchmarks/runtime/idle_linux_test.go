package runtime

import (
	"bufio"
	"context"
	"fmt"
	"os"
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
// costs beyond the payload's own: the growth of MemTotal-MemAvailable,
// less the payload processes' proportional set size (Pss), divided by
// the count. Opt in (as root):
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
	usedBefore := memUsed(t)
	kernBefore := readKB(t, "/proc/meminfo", kernelKeys...)

	ctrs := make([]*berth.Container, n)
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
	t.Cleanup(func() { deleteAll(ctrs) })
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // let the payloads settle
	usedAfter := memUsed(t)
	kernAfter := readKB(t, "/proc/meminfo", kernelKeys...)
	var threads int
	for _, c := range ctrs {
		threads += threadCount(t, c.PID())
	}
	var payloadPss int64
	for _, c := range ctrs {
		payloadPss += pss(t, c.PID())
	}
	monitor := monitorRSS(t)
	// The payload's own memory also holds what the kernel keeps for its
	// threads: their kernel stacks and its page tables.
	stack, pages := (kernAfter[0]-kernBefore[0])<<10, (kernAfter[1]-kernBefore[1])<<10
	payloadOwn := payloadPss + pages + int64(threads)*kernelStackSize
	perCtr := (usedAfter - usedBefore - payloadOwn) / int64(n)
	for i, k := range kernelKeys {
		t.Logf("%-14s %+8d KiB", k, kernAfter[i]-kernBefore[i])
	}
	t.Logf("payload threads %d (kernel stacks %d MiB of the KernelStack growth %d MiB)", threads, (int64(threads)*kernelStackSize)>>20, stack>>20)
	t.Logf("%d containers started in %v (%.1f ms each, 8 at a time)", n, elapsed.Round(time.Millisecond), float64(elapsed.Milliseconds())/float64(n))
	t.Logf("host memory: +%d MiB in all; payloads' Pss %d MiB; monitor RSS %d MiB", (usedAfter-usedBefore)>>20, payloadPss>>20, monitor>>20)
	t.Logf("beyond the payload (Pss, page tables, kernel stacks of its threads): %d KiB per container", perCtr>>10)
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

// memUsed returns MemTotal - MemAvailable in bytes.
func memUsed(t *testing.T) int64 {
	m := readKB(t, "/proc/meminfo", "MemTotal:", "MemAvailable:")
	return (m[0] - m[1]) << 10
}

func pss(t *testing.T, pid int) int64 {
	return readKB(t, fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")[0] << 10
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

// kernelKeys are the /proc/meminfo lines logged as the kernel's share.
var kernelKeys = []string{"KernelStack:", "PageTables:", "SUnreclaim:", "SReclaimable:", "Shmem:", "Percpu:"}

// kernelStackSize is THREAD_SIZE on x86-64 and arm64.
const kernelStackSize = 16 << 10

func threadCount(t *testing.T, pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	require.NoError(t, err)
	return len(entries)
}
