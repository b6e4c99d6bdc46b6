package netconfig

import (
	"fmt"
	"io/fs"
	"net"
	"strings"
)

// Link describes a network interface as the kernel reports it.
type Link struct {
	// Name is the interface name, at most 15 bytes.
	Name string
	// Index is the kernel's interface index, unique in its namespace.
	Index int
	// Type is the kernel's link kind: "veth", "bridge", "device" (for
	// loopback and physical devices) and so on.
	Type string
	// MTU is the maximum transmission unit in bytes.
	MTU int
	// MAC is the hardware address; nil for links without one.
	MAC net.HardwareAddr
	// Up reports whether the link is administratively up (IFF_UP).
	Up bool
	// MasterIndex is the index of the bridge the link is enslaved to, zero
	// for none.
	MasterIndex int
}

// maxNameLen is the longest interface name the kernel accepts (IFNAMSIZ-1).
const maxNameLen = 15

// validName checks an interface name the way the kernel's dev_valid_name
// does, so that a bad name fails before anything is created. Errors wrap
// fs.ErrInvalid.
func validName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("interface name is empty: %w", fs.ErrInvalid)
	case len(name) > maxNameLen:
		return fmt.Errorf("interface name %q is %d bytes, longer than the kernel's limit of %d: %w",
			name, len(name), maxNameLen, fs.ErrInvalid)
	case name == "." || name == "..":
		return fmt.Errorf("interface name %q: %w", name, fs.ErrInvalid)
	case strings.ContainsAny(name, "/: \t\n\r\v\f"):
		return fmt.Errorf("interface name %q contains '/', ':' or white space: %w", name, fs.ErrInvalid)
	}
	return nil
}
