package main

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/netconfig"
)

// limitFlags are docker run's resource flags.
type limitFlags struct {
	memory, cpuset string
	cpus           float64
	pidsLimit      int64
	blkioWeight    uint64
}

// resources turns the flags into cgroup limits; nil when none is set.
func (l *limitFlags) resources() (*cgroups.Resources, error) {
	var r cgroups.Resources
	set := false
	if l.memory != "" {
		n, err := parseBytes(l.memory)
		if err != nil {
			return nil, fmt.Errorf("--memory: %w", err)
		}
		r.Memory, set = &cgroups.Memory{Max: &n}, true
	}
	if l.cpus != 0 || l.cpuset != "" {
		r.CPU, set = &cgroups.CPU{Cpus: l.cpuset}, true
	}
	if l.cpus != 0 {
		if l.cpus < 0.01 || math.IsNaN(l.cpus) || math.IsInf(l.cpus, 0) {
			return nil, fmt.Errorf("--cpus %v: want at least 0.01", l.cpus)
		}
		period, quota := uint64(100000), int64(math.Round(l.cpus*100000))
		r.CPU.Period, r.CPU.Quota = &period, &quota
	}
	if l.pidsLimit != 0 {
		n := l.pidsLimit
		if n < 0 {
			n = cgroups.Unlimited
		}
		r.Pids, set = &cgroups.Pids{Max: &n}, true
	}
	if l.blkioWeight != 0 {
		if l.blkioWeight < 10 || l.blkioWeight > 1000 {
			return nil, fmt.Errorf("--blkio-weight %d: want 10 to 1000", l.blkioWeight)
		}
		w := weightFromBlkio(l.blkioWeight)
		r.IO, set = &cgroups.IO{Weight: &w}, true
	}
	if !set {
		return nil, nil
	}
	return &r, nil
}

// weightFromBlkio maps docker's blkio weight (10..1000, v1 blkio.weight)
// onto the v2 io.weight that cgroups translates back to exactly it.
func weightFromBlkio(w uint64) uint64 {
	return 1 + ((w-10)*9999+989)/990
}

// parseBytes reads docker's sizes: a number with an optional unit b, k,
// m or g (powers of 1024), any case.
func parseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "b")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n <= 0 || n*float64(mult) > math.MaxInt64/2 {
		return 0, fmt.Errorf("bad size %q: want a positive number with an optional unit b, k, m or g", s)
	}
	return int64(n * float64(mult)), nil
}

// parsePort reads -p [ip:]host:ctr[/proto]; an empty host port lets the
// kernel choose ([ip:]:ctr), and a lone ctr does too.
func parsePort(s string) (netconfig.Port, error) {
	var p netconfig.Port
	spec, proto, _ := strings.Cut(s, "/")
	switch proto {
	case "", "tcp", "udp":
		p.Proto = proto
	default:
		return p, fmt.Errorf("port %q: protocol must be tcp or udp", s)
	}
	var ip, host, ctr string
	if i := strings.LastIndex(spec, ":"); i < 0 {
		ctr = spec
	} else {
		ctr, spec = spec[i+1:], spec[:i]
		if j := strings.LastIndex(spec, ":"); j < 0 {
			host = spec
		} else {
			ip, host = strings.Trim(spec[:j], "[]"), spec[j+1:]
		}
	}
	cp, err := strconv.ParseUint(ctr, 10, 16)
	if err != nil || cp == 0 {
		return p, fmt.Errorf("port %q: bad container port %q", s, ctr)
	}
	p.ContainerPort = uint16(cp)
	if host != "" {
		hp, err := strconv.ParseUint(host, 10, 16)
		if err != nil {
			return p, fmt.Errorf("port %q: bad host port %q", s, host)
		}
		p.HostPort = uint16(hp)
	}
	if ip != "" {
		if p.HostIP, err = netip.ParseAddr(ip); err != nil {
			return p, fmt.Errorf("port %q: bad host address: %w", s, err)
		}
	}
	return p, nil
}

// parseAddHost reads --add-host NAME:IP (IPv6 addresses may be bracketed).
func parseAddHost(s string) (netconfig.Host, error) {
	name, ip, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return netconfig.Host{}, fmt.Errorf("--add-host %q: want NAME:IP", s)
	}
	addr, err := netip.ParseAddr(strings.Trim(ip, "[]"))
	if err != nil {
		return netconfig.Host{}, fmt.Errorf("--add-host %q: %w", s, err)
	}
	return netconfig.Host{Addr: addr, Names: []string{name}}, nil
}
