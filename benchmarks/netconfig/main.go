// Command netconfig-bench measures attaching a container namespace to a
// bridge with Berth's netconfig and with the CNI bridge plugin and
// host-local IPAM (optionally chained with portmap), interleaved in the
// same run, and prints medians and 90th percentiles as a Markdown table.
//
// Everything happens in network namespaces it creates: one plays the host,
// a fresh one per iteration plays the container. It needs root and the
// Debian package containernetworking-plugins (and iptables for portmap).
//
//	go run . -n 200
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/berthlabs/berth/netconfig"
	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 200, "iterations of each variant")
	portmap := flag.Bool("portmap", true, "also measure CNI bridge chained with portmap (needs iptables)")
	flag.DurationVar(&settle, "settle", 50*time.Millisecond, "pause after each measurement, for the kernel to tear down the closed namespace")
	flag.Parse()
	if err := run(*n, *portmap); err != nil {
		fmt.Fprintln(os.Stderr, "netconfig-bench:", err)
		os.Exit(1)
	}
}

// settle is the pause after each measurement.
var settle time.Duration

// bench holds the shared set-up: the host namespace, its bridge and pool.
type bench struct {
	host  *os.File
	hostH *netconfig.Handle // kept open, for Handle.Attach
	ipam  *netconfig.IPAM
	cni   *cni
	cniP  *cni
}

func setup(tmp string, portmap bool) (*bench, error) {
	host, err := newNetNS()
	if err != nil {
		return nil, err
	}
	b := &bench{host: host}
	h, err := netconfig.Open(host)
	if err != nil {
		return nil, err
	}
	b.hostH = h
	if err := h.SetUp("lo"); err != nil {
		return nil, err
	}
	if _, err := h.AddBridge(netconfig.Bridge{Name: "berth0", Addresses: []netip.Prefix{netip.MustParsePrefix("10.60.0.1/16")}}); err != nil {
		return nil, err
	}
	if b.ipam, err = netconfig.NewIPAM(tmp + "/ipam"); err != nil {
		return nil, err
	}
	if _, err := b.ipam.CreatePool(context.Background(), netconfig.Pool{Name: "bench",
		Subnets: []netconfig.Subnet{{Prefix: netip.MustParsePrefix("10.60.0.0/16")}}}); err != nil {
		return nil, err
	}
	b.cni = &cni{host: host, dataDir: tmp + "/cni", bridge: "cni0", subnet: "10.61.0.0/16"}
	if portmap {
		b.cniP = &cni{host: host, dataDir: tmp + "/cnip", bridge: "cni1", subnet: "10.62.0.0/16", portmap: true}
	}
	return b, nil
}

// variant is one way to attach and detach, timed separately.
type variant struct {
	name          string
	attach, undo  sample
	attachCPU     sample // CPU time of this process and its children
	attachFn      func(id string, ns *os.File) (detach func() error, err error)
	verifyOnFirst bool
}

func (b *bench) variants() []*variant {
	berth := func(mode netconfig.PortMode, ports []netconfig.Port) func(string, *os.File) (func() error, error) {
		return func(id string, ns *os.File) (func() error, error) {
			cfg := netconfig.Config{ID: id, IPAM: b.ipam.Dir(), PortMode: mode, Ports: ports,
				Interfaces: []netconfig.Interface{{Bridge: "berth0", Pool: "bench"}}}
			a, err := netconfig.Attach(context.Background(), b.host, ns, cfg)
			if err != nil {
				return nil, err
			}
			return func() error { return a.Detach(context.Background()) }, nil
		}
	}
	cniFn := func(c *cni) func(string, *os.File) (func() error, error) {
		return func(id string, ns *os.File) (func() error, error) {
			if err := c.add(id, ns, 18080); err != nil {
				return nil, err
			}
			return func() error { return c.del(id, ns, 18080) }, nil
		}
	}
	kept := func(id string, ns *os.File) (func() error, error) {
		cfg := netconfig.Config{ID: id, IPAM: b.ipam.Dir(),
			Interfaces: []netconfig.Interface{{Bridge: "berth0", Pool: "bench"}}}
		a, err := b.hostH.Attach(context.Background(), ns, cfg)
		if err != nil {
			return nil, err
		}
		return func() error { return a.Detach(context.Background()) }, nil
	}
	vs := []*variant{
		{name: "berth netconfig: Attach / Detach", attachFn: berth(netconfig.PortProxy, nil)},
		{name: "berth netconfig: Handle.Attach (host Handle kept open) / Detach", attachFn: kept},
		{name: "berth netconfig + 1 published port, userland proxy", attachFn: berth(netconfig.PortProxy,
			[]netconfig.Port{{HostPort: 8080, ContainerPort: 80}})},
		{name: "berth netconfig + 1 published port, nftables DNAT", attachFn: berth(netconfig.PortNAT,
			[]netconfig.Port{{HostPort: 8081, ContainerPort: 80}})},
		{name: "CNI bridge + host-local: ADD / DEL", attachFn: cniFn(b.cni)},
	}
	if b.cniP != nil {
		vs = append(vs, &variant{name: "CNI bridge + host-local + portmap: ADD / DEL", attachFn: cniFn(b.cniP)})
	}
	return vs
}

func run(n int, portmap bool) error {
	tmp, err := os.MkdirTemp("", "netconfig-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b, err := setup(tmp, portmap)
	if err != nil {
		return fmt.Errorf("set-up: %w", err)
	}
	defer b.host.Close() // deletes the namespace with everything in it
	defer b.hostH.Close()
	vs := b.variants()
	// One untimed round first: it creates the CNI bridges and warms caches.
	// The variants run in a new random order each iteration, and after each
	// measurement the program pauses for settle: the namespace a variant
	// closes is torn down by the kernel in the background, which would
	// otherwise slow whichever variant comes next.
	rng := rand.New(rand.NewPCG(1, 2))
	order := make([]*variant, len(vs))
	for i := -1; i < n; i++ {
		copy(order, vs)
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		for _, v := range order {
			if err := measure(v, i, b); err != nil {
				return fmt.Errorf("%s, iteration %d: %w", v.name, i, err)
			}
			time.Sleep(settle)
		}
	}
	report(vs, n)
	return nil
}

func measure(v *variant, i int, b *bench) error {
	ns, err := newNetNS()
	if err != nil {
		return err
	}
	defer ns.Close()
	id := fmt.Sprintf("bench%d", i+1)
	c0 := cpuTime()
	t0 := time.Now()
	detach, err := v.attachFn(id, ns)
	t1 := time.Now()
	c1 := cpuTime()
	if err != nil {
		return err
	}
	if i == 0 {
		if err := verify(ns); err != nil {
			return errors2(err, detach())
		}
	}
	t2 := time.Now()
	if err := detach(); err != nil {
		return err
	}
	t3 := time.Now()
	if i >= 0 {
		v.attach.d = append(v.attach.d, t1.Sub(t0))
		v.attachCPU.d = append(v.attachCPU.d, c1-c0)
		v.undo.d = append(v.undo.d, t3.Sub(t2))
	}
	return nil
}

// verify checks that the container has eth0 with an IPv4 address and a
// default route, whoever configured it.
func verify(ns *os.File) error {
	h, err := netconfig.Open(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	addrs, err := h.Addrs("eth0")
	if err != nil || len(addrs) == 0 || !addrs[0].Addr().Is4() {
		return fmt.Errorf("container eth0 addresses %v: %v", addrs, err)
	}
	routes, err := h.Routes("eth0")
	if err != nil {
		return err
	}
	for _, r := range routes {
		if r.Dst.Bits() == 0 && r.Via.IsValid() {
			return nil
		}
	}
	return fmt.Errorf("container has no default route: %v", routes)
}

// cpuTime is the user and system CPU time used so far by this process and
// its waited-for children (the CNI plugins).
func cpuTime() time.Duration {
	var self, kids unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &self)
	_ = unix.Getrusage(unix.RUSAGE_CHILDREN, &kids)
	sum := time.Duration(0)
	for _, tv := range []unix.Timeval{self.Utime, self.Stime, kids.Utime, kids.Stime} {
		sum += time.Duration(tv.Nano())
	}
	return sum
}

func errors2(a, b error) error {
	if b == nil {
		return a
	}
	return fmt.Errorf("%w (and undoing: %v)", a, b)
}

func report(vs []*variant, n int) {
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%d iterations per variant, interleaved in random order with %v pauses, each in a fresh container namespace; %s, %d CPUs, kernel %s, %s, load %s, %s\n\n",
		n, settle, host, runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version(),
		strings.Join(strings.Fields(string(load))[:3], " "), time.Now().UTC().Format(time.DateOnly))
	fmt.Println("| variant | attach/ADD median ms | p90 ms | detach/DEL median ms | p90 ms | attach/ADD CPU median ms |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for _, v := range vs {
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", v.name, ms(v.attach.quantile(0.5)), ms(v.attach.quantile(0.9)),
			ms(v.undo.quantile(0.5)), ms(v.undo.quantile(0.9)), ms(v.attachCPU.quantile(0.5)))
	}
	fmt.Println()
	ratio := func(cni, berth *variant) {
		fmt.Printf("- %s / %s: attach %.0fx, detach %.1fx (medians)\n", cni.name, berth.name,
			float64(cni.attach.quantile(0.5))/float64(berth.attach.quantile(0.5)),
			float64(cni.undo.quantile(0.5))/float64(berth.undo.quantile(0.5)))
	}
	ratio(vs[4], vs[0])
	ratio(vs[4], vs[1])
	if len(vs) > 5 {
		ratio(vs[5], vs[2])
		ratio(vs[5], vs[3])
	}
}
