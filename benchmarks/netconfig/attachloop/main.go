// Command attachloop attaches and detaches containers in a loop, for
// profiling netconfig.Attach alone (perf record -p its PID). It prints the
// median and 90th percentile of the attach time, and the median CPU time of
// the process during an attach. Run it as root; everything happens in
// network namespaces it creates.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/netconfig"
	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 200, "attachments")
	pause := flag.Duration("pause", 20*time.Millisecond, "pause after each detach")
	kept := flag.Bool("handle", false, "use Handle.Attach")
	wait := flag.Duration("wait", 0, "sleep before starting (to attach perf)")
	flag.Parse()
	if err := run(*n, *pause, *kept, *wait); err != nil {
		fmt.Fprintln(os.Stderr, "attachloop:", err)
		os.Exit(1)
	}
}

func run(n int, pause time.Duration, kept bool, wait time.Duration) error {
	tmp, err := os.MkdirTemp("", "attachloop")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	host, err := newNetNS()
	if err != nil {
		return err
	}
	defer host.Close()
	h, err := netconfig.Open(host)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.SetUp("lo"); err != nil {
		return err
	}
	if _, err := h.AddBridge(netconfig.Bridge{Name: "berth0", Addresses: []netip.Prefix{netip.MustParsePrefix("10.60.0.1/16")}}); err != nil {
		return err
	}
	ipam, err := netconfig.NewIPAM(tmp + "/ipam")
	if err != nil {
		return err
	}
	if _, err := ipam.CreatePool(context.Background(), netconfig.Pool{Name: "bench",
		Subnets: []netconfig.Subnet{{Prefix: netip.MustParsePrefix("10.60.0.0/16")}}}); err != nil {
		return err
	}
	time.Sleep(wait)
	var wall, cpu []time.Duration
	for i := -5; i < n; i++ {
		ns, err := newNetNS()
		if err != nil {
			return err
		}
		cfg := netconfig.Config{ID: fmt.Sprint("c", i+10), IPAM: ipam.Dir(),
			Interfaces: []netconfig.Interface{{Bridge: "berth0", Pool: "bench"}}}
		c0 := cpuTime()
		t0 := time.Now()
		var a *netconfig.Attachment
		if kept {
			a, err = h.Attach(context.Background(), ns, cfg)
		} else {
			a, err = netconfig.Attach(context.Background(), host, ns, cfg)
		}
		d := time.Since(t0)
		c := cpuTime() - c0
		if err != nil {
			ns.Close()
			return err
		}
		if i >= 0 {
			wall, cpu = append(wall, d), append(cpu, c)
		}
		err = a.Detach(context.Background())
		ns.Close()
		if err != nil {
			return err
		}
		time.Sleep(pause)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("attach median %.3f ms p90 %.3f ms, CPU median %.3f ms (n=%d, load %s)\n",
		ms(q(wall, 0.5)), ms(q(wall, 0.9)), ms(q(cpu, 0.5)), n, strings.Join(strings.Fields(string(load))[:3], " "))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func q(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func newNetNS() (*os.File, error) {
	type res struct {
		f   *os.File
		err error
	}
	c := make(chan res, 1)
	go func() {
		// The thread stays locked in the new namespace; the runtime
		// discards it when the goroutine ends.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			c <- res{err: err}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		c <- res{f, err}
	}()
	r := <-c
	return r.f, r.err
}
