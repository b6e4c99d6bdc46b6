//go:build !linux

package netconfig

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
)

// Handle is a netlink connection bound to a network namespace. Network
// namespaces exist only on Linux: elsewhere [Open] fails with
// errors.ErrUnsupported.
type Handle struct{}

var errNotLinux = fmt.Errorf("network namespaces need Linux: %w", errors.ErrUnsupported)

// Open fails with errors.ErrUnsupported on this OS.
func Open(ns *os.File, opts ...Option) (*Handle, error) { return nil, errNotLinux }

// Close does nothing on this OS.
func (h *Handle) Close() error { return nil }

// NS returns nil on this OS.
func (h *Handle) NS() *os.File { return nil }

// Links fails with errors.ErrUnsupported on this OS.
func (h *Handle) Links() ([]Link, error) { return nil, errNotLinux }

// Link fails with errors.ErrUnsupported on this OS.
func (h *Handle) Link(name string) (Link, error) { return Link{}, errNotLinux }

// DelLink fails with errors.ErrUnsupported on this OS.
func (h *Handle) DelLink(name string) error { return errNotLinux }

// SetUp fails with errors.ErrUnsupported on this OS.
func (h *Handle) SetUp(name string) error { return errNotLinux }

// SetDown fails with errors.ErrUnsupported on this OS.
func (h *Handle) SetDown(name string) error { return errNotLinux }

// SetMTU fails with errors.ErrUnsupported on this OS.
func (h *Handle) SetMTU(name string, mtu int) error { return errNotLinux }

// SetMaster fails with errors.ErrUnsupported on this OS.
func (h *Handle) SetMaster(name, master string) error { return errNotLinux }

// AddBridge fails with errors.ErrUnsupported on this OS.
func (h *Handle) AddBridge(b Bridge) (Link, error) { return Link{}, errNotLinux }

// AddVeth fails with errors.ErrUnsupported on this OS.
func (h *Handle) AddVeth(v Veth) (Link, error) { return Link{}, errNotLinux }

// AddAddr fails with errors.ErrUnsupported on this OS.
func (h *Handle) AddAddr(link string, p netip.Prefix) error { return errNotLinux }

// DelAddr fails with errors.ErrUnsupported on this OS.
func (h *Handle) DelAddr(link string, p netip.Prefix) error { return errNotLinux }

// Addrs fails with errors.ErrUnsupported on this OS.
func (h *Handle) Addrs(link string) ([]netip.Prefix, error) { return nil, errNotLinux }

// AddRoute fails with errors.ErrUnsupported on this OS.
func (h *Handle) AddRoute(r Route) error { return errNotLinux }

// DelRoute fails with errors.ErrUnsupported on this OS.
func (h *Handle) DelRoute(r Route) error { return errNotLinux }

// Routes fails with errors.ErrUnsupported on this OS.
func (h *Handle) Routes(link string) ([]Route, error) { return nil, errNotLinux }

// EnableForwarding fails with errors.ErrUnsupported on this OS.
func (h *Handle) EnableForwarding() error { return errNotLinux }

// AddMasquerade fails with errors.ErrUnsupported on this OS.
func (h *Handle) AddMasquerade(src netip.Prefix, except string) error { return errNotLinux }

// DelMasquerade fails with errors.ErrUnsupported on this OS.
func (h *Handle) DelMasquerade(src netip.Prefix, except string) error { return errNotLinux }

// Attachment is a container's network set up by [Attach], which needs
// Linux.
type Attachment struct{ cfg Config }

// Config returns the resolved Config.
func (a *Attachment) Config() Config { return a.cfg.clone() }

// Detach fails with errors.ErrUnsupported on this OS.
func (a *Attachment) Detach(ctx context.Context) error { return errNotLinux }

// Attach fails with errors.ErrUnsupported on this OS.
func Attach(ctx context.Context, hostNS, containerNS *os.File, cfg Config) (*Attachment, error) {
	return nil, errNotLinux
}

// Detach fails with errors.ErrUnsupported on this OS.
func Detach(ctx context.Context, hostNS *os.File, cfg Config) error { return errNotLinux }

// Attach fails with errors.ErrUnsupported on this OS.
func (h *Handle) Attach(ctx context.Context, containerNS *os.File, cfg Config) (*Attachment, error) {
	return nil, errNotLinux
}
