package netconfig

import (
	"fmt"
	"io/fs"
)

// AddVeth creates the veth pair v, the peer end directly in v.PeerNS, and
// returns the Name end. Everything v describes, the master included, is
// set in the one request that creates the pair, so the pair either exists
// as described or not at all. Both ends get one transmit and one receive
// queue, the number the kernel leaves in use by default. Errors wrap
// fs.ErrInvalid for a bad name or MTU, fs.ErrNotExist for a missing
// master, and fs.ErrExist (unix.EEXIST) if a name is taken.
//
// Equivalent to: `ip link add NAME mtu MTU address MAC master MASTER up
// numtxqueues 1 numrxqueues 1 type veth peer name PEER address PEERMAC
// netns PEERNS numtxqueues 1 numrxqueues 1`
func (h *Handle) AddVeth(v Veth) (Link, error) {
	if err := h.usable(); err != nil {
		return Link{}, err
	}
	if err := validName(v.Name); err != nil {
		return Link{}, fmt.Errorf("adding veth: %w", err)
	}
	if err := validName(v.PeerName); err != nil {
		return Link{}, fmt.Errorf("adding veth %q: peer: %w", v.Name, err)
	}
	if v.MTU < 0 {
		return Link{}, fmt.Errorf("adding veth %q: MTU %d: %w", v.Name, v.MTU, fs.ErrInvalid)
	}
	master := 0
	if v.Master != "" {
		idx, _, err := h.rt.indexMTU(v.Master)
		if err != nil {
			return Link{}, fmt.Errorf("adding veth %q: master in %s: %w", v.Name, h.nsName(), err)
		}
		master = idx
	}
	l, err := h.addVeth(v, master)
	if err != nil {
		return Link{}, err
	}
	return Link{Name: v.Name, Index: l.index, Type: "veth", MTU: l.mtu, MAC: l.mac, Up: l.up, MasterIndex: master}, nil
}

// addVeth creates the pair, enslaved to the bridge with index master
// (zero: none), and returns its Name end.
func (h *Handle) addVeth(v Veth, master int) (linkInfo, error) {
	l, err := h.rt.addVeth(v, master)
	if err != nil {
		return linkInfo{}, fmt.Errorf("adding veth %q (peer %q): %w", v.Name, v.PeerName, err)
	}
	return l, nil
}
