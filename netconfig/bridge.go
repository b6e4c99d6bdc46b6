package netconfig

import "net/netip"

// Bridge describes a Linux bridge in the host's network namespace, the
// switch that containers' veth pairs plug into.
type Bridge struct {
	// Name is the bridge's interface name; required, at most 15 bytes.
	Name string
	// MTU is the bridge's maximum transmission unit. Zero leaves the
	// kernel's choice (1500 for a new bridge) and an existing bridge's MTU
	// alone.
	MTU int
	// Addresses are the bridge's own addresses with their subnet length,
	// usually the gateway of each subnet, e.g. 10.88.0.1/16. Addresses
	// missing from the bridge are added; others already there are kept.
	// Nil adds none.
	Addresses []netip.Prefix
}
