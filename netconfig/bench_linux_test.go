package netconfig

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"testing"
)

// BenchmarkAttach measures Attach with the bridge and the pool in place:
// veth pair, addresses, default route, loopback and IPAM lease. Creating
// the container namespaces and detaching happen outside the timer. The
// comparison with the CNI plugins is in benchmarks/netconfig.
func BenchmarkAttach(b *testing.B) { benchAttachDetach(b, true) }

// BenchmarkDetach measures Detach of an attachment made as in
// BenchmarkAttach.
func BenchmarkDetach(b *testing.B) { benchAttachDetach(b, false) }

func benchAttachDetach(b *testing.B, timeAttach bool) {
	requireNetPrivileges(b)
	n := newTestNet(b, "10.50.0.0/16")
	i := 0
	for b.Loop() {
		b.StopTimer()
		ctr, err := createNetNS()
		if err != nil {
			b.Fatal(err)
		}
		i++
		if timeAttach {
			b.StartTimer()
		}
		a, err := Attach(context.Background(), n.host, ctr, n.config(fmt.Sprint("bench", i)))
		b.StopTimer()
		if err != nil {
			ctr.Close()
			b.Fatal(err)
		}
		if !timeAttach {
			b.StartTimer()
		}
		err = a.Detach(context.Background())
		b.StopTimer()
		ctr.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkAttachNetlinkOnly measures the kernel round trips of Attach
// alone, with the sockets in both namespaces opened beforehand and the
// address given: the veth pair (bridge index and MTU, one RTM_NEWLINK),
// the container batch (loopback and eth0 up, address, default route) and
// the settling of the host end and the bridge. What Attach costs beyond
// this (IPAM, opening the sockets, thread switches) is the difference to
// BenchmarkAttach; this is the floor of the design on the machine.
func BenchmarkAttachNetlinkOnly(b *testing.B) {
	requireNetPrivileges(b)
	n := newTestNet(b, "10.51.0.0/16")
	hc, err := dialRT(n.host)
	if err != nil {
		b.Fatal(err)
	}
	defer hc.close()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		ctr, err := createNetNS()
		if err != nil {
			b.Fatal(err)
		}
		cc, err := dialRT(ctr)
		if err != nil {
			ctr.Close()
			b.Fatal(err)
		}
		cfg := &Config{ID: "floor", Interfaces: []Interface{{Name: "eth0", HostName: fmt.Sprint("vfloor", i), Bridge: n.bridge,
			Addresses: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 51, byte(1 + i/250%250), byte(1 + i%250)}), 16)},
			Gateways:  []netip.Addr{n.pool.Subnets[0].Gateway}}}}
		b.StartTimer()
		err = attachNetlinkOnly(hc, cc, ctr, cfg)
		b.StopTimer()
		cc.close()
		err = errors.Join(err, delLink(hc, cfg.Interfaces[0].HostName), ctr.Close())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

func attachNetlinkOnly(hc, cc *rtConn, ctr *os.File, cfg *Config) error {
	ifc := cfg.Interfaces[0]
	index, mtu, err := hc.indexMTU(ifc.Bridge)
	if err != nil {
		return err
	}
	l, err := hc.addVeth(Veth{Name: ifc.HostName, PeerName: ifc.Name, PeerNS: ctr, MTU: mtu, Up: true}, index)
	if err != nil {
		return err
	}
	if err := configureContainer(cc, cfg, []int{l.peer}); err != nil {
		return err
	}
	return settleLinks(hc, cfg.Interfaces)
}
