package netconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Links lists the interfaces of the Handle's namespace, ordered by index.
//
// Equivalent to: `ip link show`
func (h *Handle) Links() ([]Link, error) {
	if err := h.usable(); err != nil {
		return nil, err
	}
	nls, err := retryDump(h.nl.LinkList)
	if err != nil {
		return nil, fmt.Errorf("listing links in %s: %w", h.nsName(), err)
	}
	out := make([]Link, 0, len(nls))
	for _, l := range nls {
		out = append(out, linkFromNetlink(l))
	}
	return out, nil
}

// Link returns the interface called name. An unknown name wraps
// fs.ErrNotExist (and unix.ENODEV).
//
// Equivalent to: `ip link show dev NAME`
func (h *Handle) Link(name string) (Link, error) {
	if err := h.usable(); err != nil {
		return Link{}, err
	}
	l, err := h.link(name)
	if err != nil {
		return Link{}, err
	}
	return linkFromNetlink(l), nil
}

// DelLink deletes the interface called name. Deleting one end of a veth
// pair deletes the other end too, in whatever namespace it lives. An unknown
// name wraps fs.ErrNotExist.
//
// Equivalent to: `ip link del NAME`
func (h *Handle) DelLink(name string) error {
	if err := h.usable(); err != nil {
		return err
	}
	l, err := h.link(name)
	if err != nil {
		return fmt.Errorf("deleting link: %w", err)
	}
	if err := h.nl.LinkDel(l); err != nil {
		return fmt.Errorf("deleting link %q: %w", name, linkErr(err))
	}
	return nil
}

// SetUp brings the interface called name up.
//
// Equivalent to: `ip link set NAME up`
func (h *Handle) SetUp(name string) error {
	if err := h.usable(); err != nil {
		return err
	}
	l, err := h.link(name)
	if err == nil {
		err = h.nl.LinkSetUp(l)
	}
	if err != nil {
		return fmt.Errorf("setting link %q up: %w", name, linkErr(err))
	}
	return nil
}

// SetDown brings the interface called name down.
//
// Equivalent to: `ip link set NAME down`
func (h *Handle) SetDown(name string) error {
	if err := h.usable(); err != nil {
		return err
	}
	l, err := h.link(name)
	if err == nil {
		err = h.nl.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("setting link %q down: %w", name, linkErr(err))
	}
	return nil
}

// SetMTU sets the interface's maximum transmission unit.
//
// Equivalent to: `ip link set NAME mtu MTU`
func (h *Handle) SetMTU(name string, mtu int) error {
	if err := h.usable(); err != nil {
		return err
	}
	if mtu <= 0 {
		return fmt.Errorf("setting MTU of %q to %d: %w", name, mtu, fs.ErrInvalid)
	}
	l, err := h.link(name)
	if err == nil {
		err = h.nl.LinkSetMTU(l, mtu)
	}
	if err != nil {
		return fmt.Errorf("setting MTU of %q to %d: %w", name, mtu, linkErr(err))
	}
	return nil
}

// SetMaster enslaves the interface called name to the bridge master, or
// releases it from its bridge if master is "".
//
// Equivalent to: `ip link set NAME master MASTER` (`nomaster` for "")
func (h *Handle) SetMaster(name, master string) error {
	if err := h.usable(); err != nil {
		return err
	}
	l, err := h.link(name)
	if err != nil {
		return fmt.Errorf("setting master of %q: %w", name, err)
	}
	idx := 0
	if master != "" {
		m, err := h.link(master)
		if err != nil {
			return fmt.Errorf("setting master of %q: %w", name, err)
		}
		idx = m.Attrs().Index
	}
	if err := h.nl.LinkSetMasterByIndex(l, idx); err != nil {
		return fmt.Errorf("setting master of %q to %q: %w", name, master, linkErr(err))
	}
	return nil
}

// link looks a link up by name, mapping "not found" to fs.ErrNotExist.
func (h *Handle) link(name string) (netlink.Link, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	l, err := h.nl.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("link %q in %s: %w", name, h.nsName(), linkErr(err))
	}
	return l, nil
}

// linkErr maps netlink's "link not found" to an error that matches both
// fs.ErrNotExist and unix.ENODEV; other errors pass unchanged.
func linkErr(err error) error {
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
		return errNoDevice{}
	}
	return err
}

// errNoDevice is "no such device", matching fs.ErrNotExist.
type errNoDevice struct{}

// Error returns "no such device".
func (errNoDevice) Error() string { return "no such device" }

// Is matches fs.ErrNotExist and unix.ENODEV.
func (errNoDevice) Is(target error) bool { return target == fs.ErrNotExist || target == unix.ENODEV }

func linkFromNetlink(l netlink.Link) Link {
	a := l.Attrs()
	return Link{
		Name:        a.Name,
		Index:       a.Index,
		Type:        l.Type(),
		MTU:         a.MTU,
		MAC:         a.HardwareAddr,
		Up:          a.Flags&net.FlagUp != 0,
		MasterIndex: a.MasterIndex,
	}
}
