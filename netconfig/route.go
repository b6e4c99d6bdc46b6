package netconfig

import (
	"fmt"
	"net/netip"
)

// Route is one entry of a routing table.
type Route struct {
	// Dst is the destination subnet. The zero Prefix means the default
	// route of Via's family (0.0.0.0/0 or ::/0).
	Dst netip.Prefix
	// Via is the next hop (gateway). The zero Addr means the destination
	// is directly reachable on Link (scope link).
	Via netip.Addr
	// Link is the outgoing interface. Empty lets the kernel choose it from
	// Via; in a [Config] it means the first interface.
	Link string
	// Src is the preferred source address. The zero Addr lets the kernel
	// choose.
	Src netip.Addr
	// Metric is the route's priority; lower wins. Zero is the kernel's
	// default (0 for IPv4, 1024 for IPv6).
	Metric int
}

// String formats r like `ip route`, e.g. "default via 10.88.0.1 dev eth0".
func (r Route) String() string {
	s := "default"
	if r.Dst.IsValid() && r.Dst.Bits() != 0 {
		s = r.Dst.String()
	}
	if r.Via.IsValid() {
		s += " via " + r.Via.String()
	}
	if r.Link != "" {
		s += " dev " + r.Link
	}
	if r.Src.IsValid() {
		s += " src " + r.Src.String()
	}
	if r.Metric != 0 {
		s += fmt.Sprintf(" metric %d", r.Metric)
	}
	return s
}

// dst returns the destination, the default route of Via's family if unset.
func (r Route) dst() (netip.Prefix, bool) {
	if r.Dst.IsValid() {
		return r.Dst.Masked(), true
	}
	switch {
	case r.Via.Is4():
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), true
	case r.Via.Is6():
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0), true
	}
	return netip.Prefix{}, false
}
