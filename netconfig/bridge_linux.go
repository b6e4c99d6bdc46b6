package netconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddBridge creates the bridge b, or reuses a bridge of that name, and
// makes it match b: MTU, addresses (added if missing) and up. It is
// idempotent and safe to call concurrently with itself for the same bridge.
// A new bridge also gets accept_ra=0, so that containers cannot configure
// the host's addresses with router advertisements.
//
// Errors wrap fs.ErrInvalid for a bad name or address, fs.ErrExist if a
// link of that name exists and is not a bridge, and [ErrOverlap] if an
// address's subnet overlaps an address on another link of the namespace.
// A bridge created by a failed call is deleted again.
//
// Equivalent to: `ip link add NAME type bridge; ip addr add ADDR dev NAME;
// ip link set NAME mtu MTU up`
func (h *Handle) AddBridge(b Bridge) (_ Link, retErr error) {
	if err := h.usable(); err != nil {
		return Link{}, err
	}
	if err := validName(b.Name); err != nil {
		return Link{}, fmt.Errorf("adding bridge: %w", err)
	}
	for _, p := range b.Addresses {
		if !p.IsValid() || !p.Addr().Unmap().Is4() && !p.Addr().Is6() {
			return Link{}, fmt.Errorf("adding bridge %q: address %v: %w", b.Name, p, fs.ErrInvalid)
		}
	}
	if err := h.checkOverlap(b.Name, b.Addresses); err != nil {
		return Link{}, fmt.Errorf("adding bridge %q: %w", b.Name, err)
	}
	l, created, err := h.ensureBridge(b)
	if err != nil {
		return Link{}, err
	}
	if created {
		defer func() {
			if retErr != nil {
				retErr = errors.Join(retErr, h.nl.LinkDel(l))
			}
		}()
	}
	if b.MTU > 0 && l.Attrs().MTU != b.MTU {
		if err := h.nl.LinkSetMTU(l, b.MTU); err != nil {
			return Link{}, fmt.Errorf("setting MTU of bridge %q to %d: %w", b.Name, b.MTU, err)
		}
	}
	for _, p := range b.Addresses {
		if err := h.addAddr(l, p); err != nil && !errors.Is(err, unix.EEXIST) {
			return Link{}, fmt.Errorf("adding address %v to bridge %q: %w", p, b.Name, err)
		}
	}
	if err := h.nl.LinkSetUp(l); err != nil {
		return Link{}, fmt.Errorf("setting bridge %q up: %w", b.Name, err)
	}
	return h.Link(b.Name)
}

// ensureBridge returns the bridge called b.Name, creating it if needed.
func (h *Handle) ensureBridge(b Bridge) (netlink.Link, bool, error) {
	for range 3 {
		l, err := h.nl.LinkByName(b.Name)
		if err == nil {
			if l.Type() != "bridge" {
				return nil, false, fmt.Errorf("adding bridge %q: a %s link has that name: %w", b.Name, l.Type(), fs.ErrExist)
			}
			return l, false, nil
		}
		if !errors.Is(linkErr(err), fs.ErrNotExist) {
			return nil, false, fmt.Errorf("adding bridge %q: %w", b.Name, err)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = b.Name
		attrs.MTU = b.MTU
		br := &netlink.Bridge{LinkAttrs: attrs}
		err = h.nl.LinkAdd(br)
		if errors.Is(err, unix.EEXIST) {
			continue // created concurrently: look it up again
		}
		if err != nil {
			return nil, false, fmt.Errorf("adding bridge %q: %w", b.Name, err)
		}
		if err := h.disableRA(b.Name); err != nil {
			return nil, false, errors.Join(fmt.Errorf("adding bridge %q: %w", b.Name, err), h.nl.LinkDel(br))
		}
		return br, true, nil
	}
	return nil, false, fmt.Errorf("adding bridge %q: created and deleted concurrently: %w", b.Name, unix.EAGAIN)
}

// disableRA sets net.ipv6.conf.NAME.accept_ra to 0 in the Handle's
// namespace. Without IPv6 (no such sysctl) there is nothing to disable.
func (h *Handle) disableRA(name string) error {
	return inNS(h.ns, func() error {
		err := os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/accept_ra", []byte("0\n"), 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
}

// checkOverlap fails with ErrOverlap if the subnet of one of addrs overlaps
// the subnet of an address on a link other than name.
func (h *Handle) checkOverlap(name string, addrs []netip.Prefix) error {
	if len(addrs) == 0 {
		return nil
	}
	all, err := retryDump(func() ([]netlink.Addr, error) { return h.nl.AddrList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("listing addresses in %s: %w", h.nsName(), err)
	}
	links := map[int]string{}
	for _, a := range all {
		have, ok := prefixFromIPNet(a.IPNet)
		if !ok || have.Addr().IsLinkLocalUnicast() || have.Addr().IsLoopback() {
			continue
		}
		for _, want := range addrs {
			if !want.Masked().Overlaps(have.Masked()) {
				continue
			}
			owner, ok := links[a.LinkIndex]
			if !ok {
				if l, err := h.nl.LinkByIndex(a.LinkIndex); err == nil {
					owner = l.Attrs().Name
				}
				links[a.LinkIndex] = owner
			}
			if owner != name {
				return fmt.Errorf("subnet %v overlaps %v on link %q: %w", want.Masked(), have, owner, ErrOverlap)
			}
		}
	}
	return nil
}

func prefixFromIPNet(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}
