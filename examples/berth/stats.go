package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/cgroups"
)

// statsInterval is how often stats refreshes, and how far apart the two
// samples of --no-stream are.
const statsInterval = time.Second

// stats shows the resource use of containers like docker stats: live,
// refreshed every second, until interrupted; once with --no-stream.
func (c *cli) stats(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("stats")
	var noStream bool
	fs.BoolVar(&noStream, "no-stream", false, "print one sample and exit")
	if err := fs.Parse(args); err != nil {
		return 125, nil
	}
	ctrs, err := c.statsTargets(ctx, fs.Args())
	if err != nil {
		return 125, err
	}
	prev := map[string]*berth.Stats{}
	sample(ctx, ctrs, prev)
	for {
		select {
		case <-ctx.Done():
			return 0, nil
		case <-time.After(statsInterval):
		}
		cur := sample(ctx, ctrs, prev)
		if !noStream {
			fmt.Fprint(c.stdout, "\033[2J\033[H") // clear the terminal, as docker stats does
		}
		if err := printStats(c.stdout, ctrs, cur, prev); err != nil {
			return 125, err
		}
		if noStream {
			return 0, nil
		}
		prev = cur
	}
}

// statsTargets resolves refs, or lists the running containers.
func (c *cli) statsTargets(ctx context.Context, refs []string) ([]*berth.Container, error) {
	var out []*berth.Container
	for _, ref := range refs {
		ctr, err := c.resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, ctr)
	}
	if len(refs) > 0 {
		return out, nil
	}
	states, err := berth.List(ctx, c.stateDir)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		if st.Status == berth.StatusRunning || st.Status == berth.StatusPaused {
			ctr, err := berth.Load(ctx, c.stateDir, st.ID)
			if err == nil {
				out = append(out, ctr)
			}
		}
	}
	return out, nil
}

// sample reads every container's stats; one that cannot be read (it
// exited) is left out. With prev empty it fills prev.
func sample(ctx context.Context, ctrs []*berth.Container, prev map[string]*berth.Stats) map[string]*berth.Stats {
	out := map[string]*berth.Stats{}
	for _, ctr := range ctrs {
		if s, err := ctr.Stats(ctx); err == nil {
			out[ctr.ID] = s
		}
	}
	if len(prev) == 0 {
		for k, v := range out {
			prev[k] = v
		}
	}
	return out
}

func printStats(w io.Writer, ctrs []*berth.Container, cur, prev map[string]*berth.Stats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS")
	total := hostMemory()
	for _, ctr := range ctrs {
		s, ok := cur[ctr.ID]
		if !ok {
			fmt.Fprintf(tw, "%s\t--\t-- / --\t--\t-- / --\t-- / --\t--\n", short(ctr.ID))
			continue
		}
		cpu := 0.0
		if p, ok := prev[ctr.ID]; ok && s.Time.After(p.Time) {
			cpu = 100 * float64(s.CPU.Usage-p.CPU.Usage) / float64(s.Time.Sub(p.Time))
		}
		limit := uint64(s.Memory.Limit)
		if s.Memory.Limit == cgroups.Unlimited || (total > 0 && limit > total) {
			limit = total
		}
		memPct := 0.0
		if limit > 0 {
			memPct = 100 * float64(s.Memory.Usage) / float64(limit)
		}
		var rx, tx, rd, wr uint64
		for _, n := range s.Networks {
			rx, tx = rx+n.RxBytes, tx+n.TxBytes
		}
		for _, d := range s.IO.Devices {
			rd, wr = rd+d.ReadBytes, wr+d.WriteBytes
		}
		fmt.Fprintf(tw, "%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%s / %s\t%d\n", short(ctr.ID), cpu,
			size(s.Memory.Usage), size(limit), memPct, size(rx), size(tx), size(rd), size(wr), s.Pids.Current)
	}
	return tw.Flush()
}

// hostMemory is MemTotal in bytes, 0 if unknown.
func hostMemory() uint64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		var kib uint64
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kib); err == nil {
			return kib << 10
		}
	}
	return 0
}

// size formats bytes with binary units, as docker stats does.
func size(b uint64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(b), 0
	for v >= 1024 && i < len(units)-1 {
		v, i = v/1024, i+1
	}
	if i == 0 {
		return fmt.Sprintf("%dB", b)
	}
	return fmt.Sprintf("%.4g%s", v, units[i])
}
