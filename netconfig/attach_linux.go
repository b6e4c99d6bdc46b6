package netconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// Attachment is a container's network set up by [Attach]. It holds the
// resolved Config and the published ports' proxies, which live in this
// process until Detach. It is safe for concurrent use.
type Attachment struct {
	cfg    Config
	hostNS *os.File // private duplicate; nil: the current namespace

	mu       sync.Mutex
	pubs     []publisher
	detached bool
}

// Config returns the resolved Config: interface and host-side names,
// leased addresses and gateways, and published host ports filled in.
// Passing it to [Detach] undoes the attachment from any process.
func (a *Attachment) Config() Config { return a.cfg.clone() }

// Attach sets up the network described by cfg for the container whose
// network namespace is containerNS, with the host side in hostNS (nil: the
// current namespace): loopback up; per interface an IPAM lease, a veth pair
// created with its container end directly in containerNS, plugged into the
// bridge and up, addresses, the default routes; then cfg.Routes and the
// published ports. Bridges must exist (see [Handle.AddBridge]). When it
// returns, the host reaches the container's IPv4 addresses (for IPv6 see
// the package's caveats).
//
// ctx bounds the setup; cancelling it stops Attach between steps. If any
// step fails or ctx is done, everything done so far is undone and the
// error names the step. Errors wrap fs.ErrInvalid for a bad Config (see
// [Config.Validate]), fs.ErrNotExist for a missing bridge or pool,
// [ErrExhausted] for a full pool and unix.EADDRINUSE for a host port in
// use. It needs CAP_NET_ADMIN in both namespaces.
//
// Attach opens a netlink socket in hostNS for the call; a program that
// attaches many containers can keep a [Handle] on hostNS and call
// [Handle.Attach] instead.
func Attach(ctx context.Context, hostNS, containerNS *os.File, cfg Config) (*Attachment, error) {
	if containerNS == nil {
		return nil, fmt.Errorf("attaching %q: container namespace is nil: %w", cfg.ID, fs.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	hc, err := dialRT(hostNS)
	if err != nil {
		return nil, fmt.Errorf("attaching %q: host: %w", cfg.ID, err)
	}
	defer hc.close()
	return attach(ctx, hc, hostNS, containerNS, cfg)
}

// Attach is the package-level [Attach] with the host side in the Handle's
// namespace, through the Handle's netlink socket: it saves opening a
// socket in the host namespace (and, for a Handle on another namespace
// than the caller's, a thread switch) per call. It is safe for concurrent
// use; the Attachment does not depend on the Handle staying open.
func (h *Handle) Attach(ctx context.Context, containerNS *os.File, cfg Config) (*Attachment, error) {
	if err := h.usable(); err != nil {
		return nil, err
	}
	if containerNS == nil {
		return nil, fmt.Errorf("attaching %q: container namespace is nil: %w", cfg.ID, fs.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	return attach(ctx, h.rt, h.ns, containerNS, cfg)
}

// attach does Attach with the host side through hc, a socket in hostNS.
func attach(ctx context.Context, hc *rtConn, hostNS, containerNS *os.File, cfg Config) (_ *Attachment, retErr error) {
	cfg = cfg.withDefaults()
	a := &Attachment{cfg: cfg}
	if hostNS != nil {
		fd, err := unix.FcntlInt(hostNS.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("attaching %q: %w", cfg.ID, &fs.PathError{Op: "dup", Path: hostNS.Name(), Err: err})
		}
		a.hostNS = os.NewFile(uintptr(fd), hostNS.Name())
	}
	var undo undoStack
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, undo.run())
			a.closeNS()
		}
	}()
	if err := attachInterfaces(ctx, hc, containerNS, &a.cfg, &undo); err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	var err error
	if a.pubs, err = publishPorts(a.hostNS, &a.cfg); err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	return a, nil
}

func (a *Attachment) closeNS() {
	if a.hostNS != nil {
		a.hostNS.Close()
		a.hostNS = nil
	}
}

// undoStack holds the steps that undo what a failing Attach did so far.
type undoStack []func() error

func (u *undoStack) push(f func() error) { *u = append(*u, f) }

// run undoes in reverse order, trying every step.
func (u undoStack) run() error {
	var errs []error
	for _, f := range slices.Backward(u) {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// Detach undoes what Attach set up for cfg, a resolved Config (see
// [Attachment.Config]), from any process: it deletes the DNAT rules tagged
// with cfg.ID and the host-side veths in hostNS (nil: the current
// namespace), which takes the container ends, their addresses and routes
// with them, and releases the IPAM leases. Proxies live in the process that
// attached: use [Attachment.Detach] there. Resources already gone are
// skipped, so Detach can be repeated; other failures are joined, after
// every step has been tried.
func Detach(ctx context.Context, hostNS *os.File, cfg Config) error {
	if err := validToken("config ID", cfg.ID, 128); err != nil {
		return fmt.Errorf("detaching: %w", err)
	}
	hc, err := dialRT(hostNS)
	if err != nil {
		return fmt.Errorf("detaching %q: %w", cfg.ID, err)
	}
	defer hc.close()
	if err := detach(ctx, hc, hostNS, cfg.withDefaults()); err != nil {
		return fmt.Errorf("detaching %q: %w", cfg.ID, err)
	}
	return nil
}

// detach removes the DNAT rules, host-side veths and leases of cfg.
//
// Deleting a veth waits in the kernel for RCU (an rcu_barrier, about 15 ms
// here). Deleted nftables rules are freed after an RCU grace period by a
// kernel worker, and closing an nftables socket waits for that worker
// while holding the nftables commit lock, which deleting a network device
// takes too. So the rules are deleted on a socket kept open, concurrently
// with the veths, and that socket is closed only once the veths are gone,
// by when the rules' grace period has passed as well: the two waits
// overlap instead of adding up.
func detach(ctx context.Context, hc *rtConn, hostNS *os.File, cfg Config) error {
	var rules chan natResult
	if cfg.PortMode == PortNAT && len(cfg.Ports) > 0 {
		rules = make(chan natResult, 1)
		go func() {
			c, err := openNFT(hostNS, true)
			if err == nil {
				err = delRulesOn(c, natTag(cfg.ID), portChains(cfg.Ports))
			}
			rules <- natResult{c, err}
		}()
	}
	errs := []error{delLinks(hc, cfg.Interfaces), releaseLeases(ctx, cfg)}
	if rules != nil {
		r := <-rules
		if r.err != nil {
			errs = append(errs, fmt.Errorf("deleting DNAT rules: %w", r.err))
		}
		if r.conn != nil {
			errs = append(errs, r.conn.CloseLasting())
		}
	}
	return errors.Join(errs...)
}

// natResult is an nftables connection kept open, and what deleting rules
// on it returned.
type natResult struct {
	conn *nftables.Conn
	err  error
}

// delLinks deletes the host ends of the interfaces, in one batch; links
// already gone are skipped.
func delLinks(hc *rtConn, ifcs []Interface) error {
	var b batch
	for _, ifc := range ifcs {
		b.add(delLinkRequest(ifc.HostName), "deleting link %q", ifc.HostName)
	}
	rs, err := hc.do(b.reqs...)
	if err != nil || len(ifcs) == 0 {
		return err
	}
	var errs []error
	for i, r := range rs {
		if r.err != nil && !errors.Is(linkErr(r.err), fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("%s: %w", b.what[i], r.err))
		}
	}
	return errors.Join(errs...)
}

// releaseLeases releases the IPAM leases of cfg's interfaces; leases
// already gone are skipped.
func releaseLeases(ctx context.Context, cfg Config) error {
	var m *IPAM
	var errs []error
	for _, ifc := range slices.Backward(cfg.Interfaces) {
		if ifc.Pool == "" {
			continue
		}
		if m == nil {
			var err error
			if m, err = ipamAt(cfg.IPAM); err != nil {
				return err
			}
		}
		if err := m.Release(ctx, ifc.Pool, cfg.ID); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Detach undoes the attachment like the package-level [Detach], then stops
// the published ports' proxies and releases their host ports. A second call does nothing.
// ctx bounds waiting for the IPAM lock.
func (a *Attachment) Detach(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.detached {
		return nil
	}
	// The proxies stop last, when the container is unreachable anyway.
	errs := []error{Detach(ctx, a.hostNS, a.cfg), closeAll(a.pubs)}
	a.pubs = nil
	if a.hostNS != nil {
		errs = append(errs, a.hostNS.Close())
	}
	a.detached = true
	return errors.Join(errs...)
}
