package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"

	"github.com/berthlabs/berth/netconfig"
)

// bridgePlan is the bridge the container runs on: an existing one (kept)
// or one this run creates, on a subnet nothing on the host uses.
type bridgePlan struct {
	name    string
	subnet  netip.Prefix
	existed bool
}

// planBridge looks for the bridge name; if it exists its IPv4 subnet is
// used as it is, otherwise a free /24 is chosen: one that overlaps no
// route and no address of this network namespace (the default route
// aside) and no pool of the IPAM in ipamDir.
func planBridge(ctx context.Context, name, ipamDir string) (bridgePlan, error) {
	h, err := netconfig.Open(nil)
	if err != nil {
		return bridgePlan{}, fmt.Errorf("opening the network namespace: %w", err)
	}
	defer h.Close()
	if _, err := h.Link(name); err == nil {
		return existingBridge(h, name)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return bridgePlan{}, fmt.Errorf("looking up bridge %s: %w", name, err)
	}
	used, err := usedPrefixes(ctx, h, ipamDir)
	if err != nil {
		return bridgePlan{}, err
	}
	subnet, ok := freeSubnet(used)
	if !ok {
		return bridgePlan{}, errors.New("no free /24 in 172.29.0.0/16 or 10.213.0.0/16 for the bridge")
	}
	return bridgePlan{name: name, subnet: subnet}, nil
}

// existingBridge returns the plan for a bridge that exists: its first
// IPv4 address's subnet.
func existingBridge(h *netconfig.Handle, name string) (bridgePlan, error) {
	addrs, err := h.Addrs(name)
	if err != nil {
		return bridgePlan{}, fmt.Errorf("reading addresses of bridge %s: %w", name, err)
	}
	for _, a := range addrs {
		if a.Addr().Is4() {
			return bridgePlan{name: name, subnet: a.Masked(), existed: true}, nil
		}
	}
	return bridgePlan{}, fmt.Errorf("bridge %s exists without an IPv4 address: pick another with --bridge", name)
}

// usedPrefixes lists the IPv4 subnets in use: routes (not the default
// ones), addresses of every link, and the IPAM's pools.
func usedPrefixes(ctx context.Context, h *netconfig.Handle, ipamDir string) ([]netip.Prefix, error) {
	var used []netip.Prefix
	routes, err := h.Routes("")
	if err != nil {
		return nil, fmt.Errorf("listing routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst.IsValid() && r.Dst.Bits() > 0 {
			used = append(used, r.Dst)
		}
	}
	links, err := h.Links()
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	for _, l := range links {
		addrs, err := h.Addrs(l.Name)
		if err != nil {
			return nil, fmt.Errorf("listing addresses of %s: %w", l.Name, err)
		}
		for _, a := range addrs {
			used = append(used, a.Masked())
		}
	}
	ipam, err := netconfig.NewIPAM(ipamDir)
	if err != nil {
		return nil, fmt.Errorf("opening IPAM %s: %w", ipamDir, err)
	}
	pools, err := ipam.Pools(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing IPAM pools: %w", err)
	}
	for _, p := range pools {
		for _, s := range p.Subnets {
			used = append(used, s.Prefix)
		}
	}
	return used, nil
}

// freeSubnet returns the first /24 of 172.29.0.0/16, then 10.213.0.0/16,
// that overlaps none of used.
func freeSubnet(used []netip.Prefix) (netip.Prefix, bool) {
	for _, base := range []netip.Addr{netip.MustParseAddr("172.29.0.0"), netip.MustParseAddr("10.213.0.0")} {
		b := base.As4()
		for i := range 256 {
			b[2] = byte(i)
			p := netip.PrefixFrom(netip.AddrFrom4(b), 24)
			if !overlapsAny(p, used) {
				return p, true
			}
		}
	}
	return netip.Prefix{}, false
}

func overlapsAny(p netip.Prefix, used []netip.Prefix) bool {
	for _, u := range used {
		if u.Addr().Is4() && p.Overlaps(u) {
			return true
		}
	}
	return false
}

// deleteBridge removes the bridge this run created.
func deleteBridge(name string) error {
	h, err := netconfig.Open(nil)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.DelLink(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting bridge %s: %w", name, err)
	}
	return nil
}
