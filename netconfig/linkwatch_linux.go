package netconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ethtoolValue is struct ethtool_value (linux/ethtool.h).
type ethtoolValue struct {
	cmd, data uint32
}

// ifreqData is struct ifreq with its union holding a pointer (ifr_data),
// padded to the kernel's size.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [24 - unsafe.Sizeof(uintptr(0))]byte
}

// syncLink makes the kernel apply the pending link state changes
// (linkwatch: carrier, operational state) of the link called name in c's
// namespace before it returns. It asks the link's ethtool operations
// whether the link is up (ETHTOOL_GLINK), which for veths and bridges
// (ethtool_op_get_link) applies the pending changes first, as a GETLINK
// request does, without building a link message for the answer. It takes
// the RTNL lock, like a netlink request. A link without that ethtool
// operation wraps errors.ErrUnsupported; an unknown name fs.ErrNotExist.
//
// Equivalent to: the "Link detected" line of `ethtool NAME`
func (c *rtConn) syncLink(name string) error {
	if len(name) >= unix.IFNAMSIZ {
		return fmt.Errorf("link %q: name too long: %w", name, fs.ErrInvalid)
	}
	ev := &ethtoolValue{cmd: unix.ETHTOOL_GLINK}
	ifr := &ifreqData{data: unsafe.Pointer(ev)}
	copy(ifr.name[:], name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return fmt.Errorf("netlink socket: %w", fs.ErrClosed)
	}
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(c.fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr)))
		runtime.KeepAlive(ev)
		switch {
		case errno == 0:
			return nil
		case errno == unix.EINTR:
			continue
		case errno == unix.EOPNOTSUPP:
			return fmt.Errorf("link %q: %w", name, errors.Join(errno, errors.ErrUnsupported))
		default:
			return fmt.Errorf("link %q: %w", name, linkErr(errno))
		}
	}
}
