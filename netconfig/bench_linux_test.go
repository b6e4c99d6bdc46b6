package netconfig

import (
	"context"
	"fmt"
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
