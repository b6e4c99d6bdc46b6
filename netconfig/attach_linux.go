package netconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"sync"

	"github.com/vishvananda/netlink"
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
// published ports. Bridges must exist (see [Handle.AddBridge]).
//
// ctx bounds the setup; cancelling it stops Attach between steps. If any
// step fails or ctx is done, everything done so far is undone and the
// error names the step. Errors wrap fs.ErrInvalid for a bad Config (see
// [Config.Validate]), fs.ErrNotExist for a missing bridge or pool,
// [ErrExhausted] for a full pool and unix.EADDRINUSE for a host port in
// use. It needs CAP_NET_ADMIN in both namespaces.
func Attach(ctx context.Context, hostNS, containerNS *os.File, cfg Config) (_ *Attachment, retErr error) {
	if containerNS == nil {
		return nil, fmt.Errorf("attaching %q: container namespace is nil: %w", cfg.ID, fs.ErrInvalid)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	cfg = cfg.withDefaults()
	hh, err := Open(hostNS)
	if err != nil {
		return nil, fmt.Errorf("attaching %q: host: %w", cfg.ID, err)
	}
	defer hh.Close()
	ch, err := Open(containerNS)
	if err != nil {
		return nil, fmt.Errorf("attaching %q: container: %w", cfg.ID, err)
	}
	defer ch.Close()

	a := &Attachment{cfg: cfg}
	if hh.ns != nil {
		fd, err := unix.FcntlInt(hh.ns.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("attaching %q: %w", cfg.ID, &fs.PathError{Op: "dup", Path: hh.ns.Name(), Err: err})
		}
		a.hostNS = os.NewFile(uintptr(fd), hh.ns.Name())
	}
	var undo undoStack
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, undo.run())
			if a.hostNS != nil {
				a.hostNS.Close()
			}
		}
	}()
	if err := attachInterfaces(ctx, hh, ch, &a.cfg, &undo); err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	a.pubs, err = publishPorts(a.hostNS, &a.cfg)
	if err != nil {
		return nil, fmt.Errorf("attaching %q: %w", cfg.ID, err)
	}
	return a, nil
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

// attachInterfaces does the interface part of Attach, recording in cfg
// what it leased and pushing on undo how to take back each lease and link.
// The IPAM leases are taken while the veth pairs are being created, since
// neither needs the other.
func attachInterfaces(ctx context.Context, hh, ch *Handle, cfg *Config, undo *undoStack) error {
	leases := make(chan leaseResult, 1)
	go func() { leases <- allocateAll(ctx, cfg) }()
	err := createLinks(ctx, hh, ch, cfg, undo)
	res := <-leases // always wait, to undo the leases if needed
	for _, l := range res.leases {
		undo.push(func() error { return res.ipam.Release(context.WithoutCancel(ctx), l.Pool, l.Owner) })
	}
	if err = errors.Join(err, res.err); err != nil {
		return err
	}
	for i, l := range res.leases {
		ifc := &cfg.Interfaces[res.index[i]]
		ifc.Addresses = append(ifc.Addresses, l.Addresses...)
		if len(ifc.Gateways) == 0 {
			ifc.Gateways = l.Gateways
		}
	}
	for i, ifc := range cfg.Interfaces {
		if err := configureEnd(ch, ifc, i == 0); err != nil {
			return fmt.Errorf("interface %s: %w", ifc.Name, err)
		}
	}
	for _, r := range cfg.Routes {
		if r.Link == "" {
			r.Link = cfg.Interfaces[0].Name
		}
		if err := ch.AddRoute(r); err != nil {
			return err
		}
	}
	return nil
}

// leaseResult is what allocateAll leased: leases[i] belongs to interface
// index[i].
type leaseResult struct {
	ipam   *IPAM
	leases []Lease
	index  []int
	err    error
}

// allocateAll takes a lease for each interface with a pool, stopping at
// the first failure; the result holds the leases taken so far.
func allocateAll(ctx context.Context, cfg *Config) (res leaseResult) {
	for i, ifc := range cfg.Interfaces {
		if ifc.Pool == "" {
			continue
		}
		if res.ipam == nil {
			if res.ipam, res.err = NewIPAM(cfg.IPAM); res.err != nil {
				return res
			}
		}
		l, err := res.ipam.Allocate(ctx, ifc.Pool, cfg.ID)
		if err != nil {
			res.err = fmt.Errorf("interface %s: %w", ifc.Name, err)
			return res
		}
		res.leases, res.index = append(res.leases, l), append(res.index, i)
	}
	return res
}

// createLinks brings loopback up and creates the veth pairs.
func createLinks(ctx context.Context, hh, ch *Handle, cfg *Config, undo *undoStack) error {
	// Loopback is always interface 1 of a network namespace.
	lo := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1, Name: "lo"}}
	if err := ch.nl.LinkSetUp(lo); err != nil {
		return fmt.Errorf("setting loopback up: %w", err)
	}
	for _, ifc := range cfg.Interfaces {
		if err := context.Cause(ctx); err != nil {
			return err
		}
		if err := createPair(hh, ch, ifc); err != nil {
			return fmt.Errorf("interface %s: %w", ifc.Name, err)
		}
		undo.push(func() error { return hh.DelLink(ifc.HostName) })
	}
	return nil
}

// createPair creates one veth pair, the host end up and in the bridge.
func createPair(hh, ch *Handle, ifc Interface) error {
	mtu, master := ifc.MTU, 0
	if ifc.Bridge != "" {
		br, err := hh.link(ifc.Bridge)
		if err != nil {
			return fmt.Errorf("bridge: %w", err)
		}
		master = br.Attrs().Index
		if mtu == 0 {
			mtu = br.Attrs().MTU
		}
	}
	_, err := hh.addVeth(Veth{Name: ifc.HostName, PeerName: ifc.Name, PeerNS: ch.ns,
		MTU: mtu, PeerMAC: ifc.MAC, Master: ifc.Bridge, Up: true}, master)
	return err
}

// configureEnd adds the container end's addresses, brings it up and, on
// the first interface, adds the default routes.
func configureEnd(ch *Handle, ifc Interface, first bool) error {
	l, err := ch.nl.LinkByName(ifc.Name)
	if err != nil {
		return fmt.Errorf("finding %q in the container: %w", ifc.Name, linkErr(err))
	}
	for _, p := range ifc.Addresses {
		if err := ch.addAddr(l, p); err != nil {
			return fmt.Errorf("adding address %v: %w", p, err)
		}
	}
	if err := ch.nl.LinkSetUp(l); err != nil {
		return fmt.Errorf("setting %q up: %w", ifc.Name, err)
	}
	if !first {
		return nil
	}
	for _, gw := range ifc.Gateways {
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if gw.Is6() {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		r := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(dst), Gw: gw.AsSlice()}
		if err := ch.nl.RouteAdd(r); err != nil {
			return fmt.Errorf("adding default route via %v: %w", gw, err)
		}
	}
	return nil
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
	hh, err := Open(hostNS)
	if err != nil {
		return fmt.Errorf("detaching %q: %w", cfg.ID, err)
	}
	defer hh.Close()
	if err := detach(ctx, hh, cfg.withDefaults()); err != nil {
		return fmt.Errorf("detaching %q: %w", cfg.ID, err)
	}
	return nil
}

// detach removes host-side veths, NAT rules and leases of cfg. The veths
// and the rules go concurrently: deleting either waits for RCU grace
// periods in the kernel (about 15 ms for a veth here, 7 ms for rules), and
// the waits overlap.
func detach(ctx context.Context, hh *Handle, cfg Config) error {
	var wg sync.WaitGroup
	errs := make([]error, len(cfg.Interfaces)+1)
	if cfg.PortMode == PortNAT && len(cfg.Ports) > 0 {
		wg.Go(func() {
			if err := delRules(hh.ns, natTag(cfg.ID), portChains(cfg.Ports)); err != nil {
				errs[len(cfg.Interfaces)] = fmt.Errorf("deleting DNAT rules: %w", err)
			}
		})
	}
	for i, ifc := range cfg.Interfaces {
		wg.Go(func() {
			if err := hh.DelLink(ifc.HostName); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	var m *IPAM
	for _, ifc := range slices.Backward(cfg.Interfaces) {
		if ifc.Pool == "" {
			continue
		}
		if m == nil {
			var err error
			if m, err = NewIPAM(cfg.IPAM); err != nil {
				errs = append(errs, err)
				break
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
