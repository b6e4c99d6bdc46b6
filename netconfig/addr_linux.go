package netconfig

import (
	"fmt"
	"io/fs"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// AddAddr adds address p (the address with its subnet length, e.g.
// 10.88.0.2/16) to the interface called link. IPv4 addresses get the
// subnet's broadcast address; IPv6 addresses skip duplicate address
// detection (IFA_F_NODAD), since IPAM hands out unique addresses and
// detection would keep them unusable for about a second. An address already
// present wraps fs.ErrExist (unix.EEXIST).
//
// Equivalent to: `ip addr add P dev LINK` (`nodad` for IPv6)
func (h *Handle) AddAddr(link string, p netip.Prefix) error {
	if err := h.usable(); err != nil {
		return err
	}
	if !p.IsValid() {
		return fmt.Errorf("adding address %v to %q: %w", p, link, fs.ErrInvalid)
	}
	l, err := h.link(link)
	if err != nil {
		return fmt.Errorf("adding address %v: %w", p, err)
	}
	if err := h.addAddr(l, p); err != nil {
		return fmt.Errorf("adding address %v to %q: %w", p, link, err)
	}
	return nil
}

// DelAddr removes address p from the interface called link. An address not
// present wraps unix.EADDRNOTAVAIL.
//
// Equivalent to: `ip addr del P dev LINK`
func (h *Handle) DelAddr(link string, p netip.Prefix) error {
	if err := h.usable(); err != nil {
		return err
	}
	if !p.IsValid() {
		return fmt.Errorf("deleting address %v from %q: %w", p, link, fs.ErrInvalid)
	}
	l, err := h.link(link)
	if err != nil {
		return fmt.Errorf("deleting address %v: %w", p, err)
	}
	if err := h.nl.AddrDel(l, toNetlinkAddr(p)); err != nil {
		return fmt.Errorf("deleting address %v from %q: %w", p, link, err)
	}
	return nil
}

// Addrs lists the addresses of the interface called link, with their
// subnet lengths, IPv4 first. Link-local IPv6 addresses are included.
//
// Equivalent to: `ip addr show dev LINK`
func (h *Handle) Addrs(link string) ([]netip.Prefix, error) {
	if err := h.usable(); err != nil {
		return nil, err
	}
	l, err := h.link(link)
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	var out []netip.Prefix
	for _, fam := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		as, err := retryDump(func() ([]netlink.Addr, error) { return h.nl.AddrList(l, fam) })
		if err != nil {
			return nil, fmt.Errorf("listing addresses of %q: %w", link, err)
		}
		for _, a := range as {
			if p, ok := prefixFromIPNet(a.IPNet); ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func (h *Handle) addAddr(l netlink.Link, p netip.Prefix) error {
	return h.nl.AddrAdd(l, toNetlinkAddr(p))
}

func toNetlinkAddr(p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: ipNet(p)}
	if p.Addr().Is6() && !p.Addr().Is4In6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}

// ipNet converts p, keeping its host bits, to a *net.IPNet.
func ipNet(p netip.Prefix) *net.IPNet {
	a := p.Addr().Unmap()
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
	}
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}
