package netconfig

import (
	"fmt"
	"io/fs"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddRoute adds r to the main routing table. A route that exists already
// wraps fs.ErrExist (unix.EEXIST); a next hop that is not reachable wraps
// unix.ENETUNREACH.
//
// Equivalent to: `ip route add DST via VIA dev LINK src SRC metric METRIC`
func (h *Handle) AddRoute(r Route) error {
	if err := h.usable(); err != nil {
		return err
	}
	nr, err := h.toNetlinkRoute(r)
	if err == nil {
		err = h.nl.RouteAdd(nr)
	}
	if err != nil {
		return fmt.Errorf("adding route %v: %w", r, err)
	}
	return nil
}

// DelRoute deletes r from the main routing table. A missing route wraps
// unix.ESRCH.
//
// Equivalent to: `ip route del DST via VIA dev LINK metric METRIC`
func (h *Handle) DelRoute(r Route) error {
	if err := h.usable(); err != nil {
		return err
	}
	nr, err := h.toNetlinkRoute(r)
	if err == nil {
		err = h.nl.RouteDel(nr)
	}
	if err != nil {
		return fmt.Errorf("deleting route %v: %w", r, err)
	}
	return nil
}

// Routes lists the main table's routes through the interface called link,
// or all of them if link is "", IPv4 first.
//
// Equivalent to: `ip route show dev LINK; ip -6 route show dev LINK`
func (h *Handle) Routes(link string) ([]Route, error) {
	if err := h.usable(); err != nil {
		return nil, err
	}
	filter, mask := &netlink.Route{Table: unix.RT_TABLE_MAIN}, uint64(netlink.RT_FILTER_TABLE)
	if link != "" {
		l, err := h.link(link)
		if err != nil {
			return nil, fmt.Errorf("listing routes: %w", err)
		}
		filter.LinkIndex = l.Attrs().Index
		mask |= netlink.RT_FILTER_OIF
	}
	names := map[int]string{}
	var out []Route
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		rs, err := retryDump(func() ([]netlink.Route, error) { return h.nl.RouteListFiltered(fam, filter, mask) })
		if err != nil {
			return nil, fmt.Errorf("listing routes in %s: %w", h.nsName(), err)
		}
		for _, nr := range rs {
			out = append(out, h.fromNetlinkRoute(nr, fam, names))
		}
	}
	return out, nil
}

func (h *Handle) toNetlinkRoute(r Route) (*netlink.Route, error) {
	dst, ok := r.dst()
	if !ok {
		return nil, fmt.Errorf("route without destination or next hop: %w", fs.ErrInvalid)
	}
	if r.Via.IsValid() && r.Via.Is4() != dst.Addr().Is4() {
		return nil, fmt.Errorf("next hop %v and destination %v differ in family: %w", r.Via, dst, fs.ErrInvalid)
	}
	nr := &netlink.Route{Dst: ipNet(dst), Priority: r.Metric, Table: unix.RT_TABLE_MAIN}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
	} else {
		nr.Scope = netlink.SCOPE_LINK
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.Link != "" {
		l, err := h.link(r.Link)
		if err != nil {
			return nil, err
		}
		nr.LinkIndex = l.Attrs().Index
	}
	return nr, nil
}

func (h *Handle) fromNetlinkRoute(nr netlink.Route, fam int, names map[int]string) Route {
	r := Route{Metric: nr.Priority}
	if p, ok := prefixFromIPNet(nr.Dst); ok {
		r.Dst = p
	} else if fam == netlink.FAMILY_V4 {
		r.Dst = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	} else {
		r.Dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	if a, ok := netip.AddrFromSlice(nr.Gw); ok {
		r.Via = a.Unmap()
	}
	if a, ok := netip.AddrFromSlice(nr.Src); ok {
		r.Src = a.Unmap()
	}
	if nr.LinkIndex != 0 {
		name, ok := names[nr.LinkIndex]
		if !ok {
			if l, err := h.nl.LinkByIndex(nr.LinkIndex); err == nil {
				name = l.Attrs().Name
			}
			names[nr.LinkIndex] = name
		}
		r.Link = name
	}
	return r
}
