package berth

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/berthlabs/berth/namespaces"
)

// Stats reads the container's resource use (docker stats): its cgroup's
// accounting and its interfaces' counters. It works on a container found
// by [Load] too. It needs the container's cgroup (errors.ErrUnsupported
// without one), and a running container: after it exited the error wraps
// os.ErrProcessDone. A Container keeps its cgroup's stats files open
// between calls, which makes polling cheap.
func (c *Container) Stats(ctx context.Context) (*Stats, error) {
	g, st, err := c.group()
	if err != nil {
		return nil, fmt.Errorf("reading stats of container %q: %w", c.ID, err)
	}
	cs, err := g.Stats()
	if err != nil {
		return nil, fmt.Errorf("reading stats of container %q: %w", c.ID, err)
	}
	out := &Stats{Time: time.Now(), Stats: *cs}
	if st.Share&namespaces.Net == 0 {
		if out.Networks, err = netDevOf(st.PID); err != nil {
			return nil, fmt.Errorf("reading stats of container %q: %w", c.ID, err)
		}
	}
	return out, nil
}

// netDevOf reads the interface counters of pid's network namespace.
func netDevOf(pid int) ([]InterfaceStats, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseNetDev(f)
}
