package netconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Handle is a netlink connection bound to one network namespace, chosen
// when it is opened. Its methods act on that namespace whatever thread or
// goroutine calls them, and are safe for concurrent use: requests on its
// sockets (two: one for vishvananda/netlink, one for the requests that
// library cannot express in one message) are serialised. The zero value is
// not usable; call [Open].
type Handle struct {
	nl *netlink.Handle
	rt *rtConn  // for requests the library cannot express in one message
	ns *os.File // a private duplicate of the namespace file; nil: the current one
}

// Open returns a Handle on the network namespace ns, an open file such as
// /proc/PID/ns/net or a bind mount of it. A nil ns means the namespace of
// the calling process. Open duplicates ns, so the caller may close its copy
// at once; the namespace stays alive at least as long as the Handle.
//
// Open needs no privilege for its own namespace; joining another one needs
// CAP_SYS_ADMIN over it. Errors wrap the setns or socket failure.
func Open(ns *os.File, opts ...Option) (*Handle, error) {
	var c handleConfig
	for _, o := range opts {
		o(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	h := &Handle{}
	if ns != nil {
		fd, err := unix.FcntlInt(ns.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, &fs.PathError{Op: "dup", Path: ns.Name(), Err: err}
		}
		h.ns = os.NewFile(uintptr(fd), ns.Name())
	}
	err := inNS(h.ns, func() error {
		var err error
		if h.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return err
		}
		h.rt, err = openRTConn(c.timeout)
		return err
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("opening netlink socket in %s: %w", h.nsName(), err), h.Close())
	}
	if c.timeout > 0 {
		if err := h.nl.SetSocketTimeout(c.timeout); err != nil {
			return nil, errors.Join(fmt.Errorf("setting netlink socket timeout: %w", err), h.Close())
		}
	}
	return h, nil
}

// Close releases the netlink socket and the Handle's reference to the
// namespace. It is safe to call more than once; the Handle is unusable
// afterwards.
func (h *Handle) Close() error {
	var errs []error
	if h.nl != nil {
		h.nl.Close()
		h.nl = nil
	}
	if h.rt != nil {
		errs = append(errs, h.rt.close())
		h.rt = nil
	}
	if h.ns != nil {
		errs = append(errs, h.ns.Close())
		h.ns = nil
	}
	return errors.Join(errs...)
}

// usable fails with fs.ErrClosed once the Handle is closed, so that a
// closed Handle never falls back to the current namespace.
func (h *Handle) usable() error {
	if h == nil || h.nl == nil {
		return fmt.Errorf("netlink handle: %w", fs.ErrClosed)
	}
	return nil
}

// NS returns the namespace file the Handle is bound to, nil for the
// process's own. The file belongs to the Handle: do not close it.
func (h *Handle) NS() *os.File { return h.ns }

func (h *Handle) nsName() string {
	if h.ns == nil {
		return "the current network namespace"
	}
	return "network namespace " + h.ns.Name()
}

// maxDumpRetries bounds how often a dump interrupted by a concurrent change
// (NLM_F_DUMP_INTR) is repeated before the error is returned.
const maxDumpRetries = 10

// retryDump runs the dump f again while the kernel reports that it was
// interrupted by a concurrent change, so that callers see a consistent
// result.
func retryDump[T any](f func() (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := f()
		if err == nil || !errors.Is(err, netlink.ErrDumpInterrupted) || i == maxDumpRetries {
			return v, err
		}
	}
}
