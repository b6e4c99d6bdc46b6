package netconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"net"

	"github.com/vishvananda/netlink"
)

// AddVeth creates the veth pair v, the peer end directly in v.PeerNS, and
// returns the Name end. Errors wrap fs.ErrInvalid for a bad name or MTU,
// fs.ErrNotExist for a missing master, and fs.ErrExist (unix.EEXIST) if a
// name is taken. If a step after creation fails, the pair is deleted again.
//
// Equivalent to: `ip link add NAME mtu MTU address MAC type veth peer name
// PEER address PEERMAC netns PEERNS; ip link set NAME master MASTER up`
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
		m, err := h.link(v.Master)
		if err != nil {
			return Link{}, fmt.Errorf("adding veth %q: master: %w", v.Name, err)
		}
		master = m.Attrs().Index
	}
	return h.addVeth(v, master)
}

// addVeth creates the pair and enslaves it to the bridge with index
// master (zero: none), deleting the pair if that fails.
func (h *Handle) addVeth(v Veth, master int) (_ Link, retErr error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = v.Name
	attrs.MTU = v.MTU
	attrs.HardwareAddr = v.MAC
	if v.Up {
		attrs.Flags = net.FlagUp
	}
	link := &netlink.Veth{
		LinkAttrs:        attrs,
		PeerName:         v.PeerName,
		PeerHardwareAddr: v.PeerMAC,
		PeerTxQLen:       -1,
		PeerMTU:          uint32(v.MTU),
	}
	if v.PeerNS != nil {
		link.PeerNamespace = netlink.NsFd(v.PeerNS.Fd())
	}
	if err := h.nl.LinkAdd(link); err != nil {
		return Link{}, fmt.Errorf("adding veth %q (peer %q): %w", v.Name, v.PeerName, err)
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, h.nl.LinkDel(link))
		}
	}()
	if master != 0 {
		if err := h.nl.LinkSetMasterByIndex(link, master); err != nil {
			return Link{}, fmt.Errorf("adding veth %q to bridge %q: %w", v.Name, v.Master, err)
		}
		link.MasterIndex = master
	}
	return linkFromNetlink(link), nil
}
