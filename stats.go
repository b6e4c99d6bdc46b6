package berth

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/cgroups"
)

// Stats is a snapshot of a container's resource use, read by
// [Container.Stats]: the accounting of its cgroup (memory, CPU time, tasks,
// block I/O; see [cgroups.Stats]) and the counters of its network
// interfaces.
type Stats struct {
	// Time is when the snapshot was taken. Two snapshots give rates, such
	// as CPU use: (b.CPU.Usage - a.CPU.Usage) / b.Time.Sub(a.Time).
	Time time.Time
	// Stats is the cgroup's accounting; counters include every process
	// of the container.
	cgroups.Stats
	// Networks are the container's interfaces other than loopback, in the
	// kernel's order. Nil for a container sharing the host's network
	// namespace, whose counters are the host's.
	Networks []InterfaceStats
}

// InterfaceStats are the counters of one network interface, as
// /proc/net/dev shows them.
type InterfaceStats struct {
	// Name is the interface's name inside the container, such as "eth0".
	Name string
	// RxBytes, RxPackets, RxErrors and RxDropped count what the interface
	// received; the Tx fields what it sent.
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
}

// parseNetDev reads the format of /proc/net/dev: two header lines, then
// "NAME: rx-bytes rx-packets rx-errs rx-drop fifo frame compressed
// multicast tx-bytes tx-packets tx-errs tx-drop ...". Loopback is left
// out. A malformed line wraps fs.ErrInvalid.
func parseNetDev(r io.Reader) ([]InterfaceStats, error) {
	var out []InterfaceStats
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		if n <= 2 {
			continue
		}
		name, rest, ok := strings.Cut(sc.Text(), ":")
		name = strings.TrimSpace(name)
		f := strings.Fields(rest)
		if !ok || name == "" || len(f) < 12 {
			return nil, fmt.Errorf("/proc/net/dev line %d %q: %w", n, sc.Text(), fs.ErrInvalid)
		}
		if name == "lo" {
			continue
		}
		var v [12]uint64
		for i := range v {
			x, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("/proc/net/dev line %d field %d: %w: %w", n, i+2, fs.ErrInvalid, err)
			}
			v[i] = x
		}
		out = append(out, InterfaceStats{Name: name,
			RxBytes: v[0], RxPackets: v[1], RxErrors: v[2], RxDropped: v[3],
			TxBytes: v[8], TxPackets: v[9], TxErrors: v[10], TxDropped: v[11]})
	}
	return out, sc.Err()
}
