package netconfig

import (
	"net"
	"os"
)

// Veth describes a veth pair: two interfaces joined like the ends of a
// cable. One end (Name) lives in the Handle's namespace; the other (PeerName)
// is created directly in PeerNS with its final name, which is much cheaper
// than creating it beside the first end and moving it (a move costs about
// 15 ms in the kernel).
type Veth struct {
	// Name is the end in the Handle's namespace; required, at most 15 bytes.
	Name string
	// PeerName is the other end's name, e.g. "eth0"; required.
	PeerName string
	// PeerNS is the namespace the peer is created in. Nil creates it in
	// the Handle's namespace. The file is only read during the call.
	PeerNS *os.File
	// MTU applies to both ends. Zero leaves the kernel default (1500).
	MTU int
	// MAC and PeerMAC are the ends' hardware addresses. Nil lets the kernel
	// pick random ones.
	MAC, PeerMAC net.HardwareAddr
	// Master is the bridge the Name end is enslaved to. Empty: none.
	Master string
	// Up brings the Name end up. The peer is always created down (the
	// kernel cannot bring it up before both ends exist): its namespace's
	// owner brings it up.
	Up bool
}
