package netconfig

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/vishvananda/netlink/nl"
)

// dialRT opens an rtConn in namespace ns (nil: the current one).
func dialRT(ns *os.File) (*rtConn, error) {
	return dialRTWith(inNS, ns)
}

// dialRTWith is dialRT with the thread switch done by in: inNS, or
// switchNS on a goroutine of the caller's that ends afterwards.
func dialRTWith(in func(*os.File, func() error) error, ns *os.File) (*rtConn, error) {
	var c *rtConn
	err := in(ns, func() error {
		var err error
		c, err = openRTConn(0)
		return err
	})
	if err != nil {
		if c != nil {
			c.close() // opened, but the thread could not return
		}
		return nil, fmt.Errorf("opening netlink socket in %s: %w", nsName(ns), err)
	}
	return c, nil
}

func nsName(ns *os.File) string {
	if ns == nil {
		return "the current network namespace"
	}
	return "network namespace " + ns.Name()
}

// attachInterfaces does the interface part of Attach, recording in cfg
// what it leased and pushing on undo how to take back each lease and link.
// Three independent parts run at once: the IPAM leases; a netlink socket
// in the container namespace; and, from the host side through hc, the veth
// pairs, each created in one request. The container side is then
// configured in one batch of requests.
func attachInterfaces(ctx context.Context, hc *rtConn, containerNS *os.File, cfg *Config, undo *undoStack) error {
	leases := make(chan leaseResult, 1)
	go func() { leases <- allocateAll(ctx, cfg) }()
	ctrc := make(chan ctrResult, 1)
	go func() { ctrc <- openContainer(containerNS) }() // its own thread: see switchNS

	peers, err := createLinks(ctx, hc, containerNS, cfg, undo)
	res, ctr := <-leases, <-ctrc // always wait, to undo and close
	for _, l := range res.leases {
		undo.push(func() error { return res.ipam.Release(context.WithoutCancel(ctx), l.Pool, l.Owner) })
	}
	if ctr.conn != nil {
		defer ctr.conn.close()
	}
	if err = errors.Join(err, res.err, ctr.err); err != nil {
		return err
	}
	for i, l := range res.leases {
		ifc := &cfg.Interfaces[res.index[i]]
		ifc.Addresses = append(ifc.Addresses, l.Addresses...)
		if len(ifc.Gateways) == 0 {
			ifc.Gateways = l.Gateways
		}
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if err := configureContainer(ctr.conn, cfg, peers); err != nil {
		return err
	}
	return settleLinks(hc, cfg.Interfaces)
}

// settleLinks makes the kernel apply, before Attach returns, the link
// state changes that bringing the container ends up caused on the host
// side, which it otherwise applies asynchronously, up to a second later
// (linkwatch): the host end's carrier (until then its queue drops every
// frame and its bridge port is disabled, so the bridge's first ARP request
// to the container is lost and repeated only a second later), then the
// carrier of a bridge that had lost it when its last port left (its queue
// drops frames too). Asking a link's ethtool operations for its link state
// applies its pending changes (see [rtConn.syncLink]), so this asks for
// each host end, then each bridge; a link without that operation is asked
// for with a GETLINK request, which does the same but also builds the
// whole link message. TestAttachReachableAtOnce fails without either
// part.
func settleLinks(hc *rtConn, ifcs []Interface) error {
	type link struct{ kind, name string }
	var links []link
	bridges := map[string]bool{}
	for _, ifc := range ifcs {
		links = append(links, link{"link", ifc.HostName})
	}
	for _, ifc := range ifcs {
		if ifc.Bridge != "" && !bridges[ifc.Bridge] {
			bridges[ifc.Bridge] = true
			links = append(links, link{"bridge", ifc.Bridge})
		}
	}
	for _, l := range links {
		err := hc.syncLink(l.name)
		if errors.Is(err, errors.ErrUnsupported) {
			_, err = hc.do1(getLinkRequest(l.name))
			err = linkErr(err)
		}
		if err != nil {
			return fmt.Errorf("settling %s %q: %w", l.kind, l.name, err)
		}
	}
	return nil
}

// ctrResult is the container namespace's netlink socket.
type ctrResult struct {
	conn *rtConn
	err  error
}

// openContainer must run on a goroutine of its own that ends afterwards.
func openContainer(ns *os.File) ctrResult {
	c, err := dialRTWith(switchNS, ns)
	if err != nil {
		return ctrResult{err: fmt.Errorf("container: %w", err)}
	}
	return ctrResult{conn: c}
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
			if res.ipam, res.err = ipamAt(cfg.IPAM); res.err != nil {
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

// createLinks creates the veth pairs, both ends up, the host ends in their
// bridges, and returns the container ends' indexes (zero where the kernel
// did not tell).
func createLinks(ctx context.Context, hc *rtConn, containerNS *os.File, cfg *Config, undo *undoStack) ([]int, error) {
	peers := make([]int, len(cfg.Interfaces))
	for i, ifc := range cfg.Interfaces {
		if err := context.Cause(ctx); err != nil {
			return nil, err
		}
		l, err := createPair(hc, containerNS, ifc)
		if err != nil {
			return nil, fmt.Errorf("interface %s: %w", ifc.Name, err)
		}
		undo.push(func() error { return delLink(hc, ifc.HostName) })
		peers[i] = l.peer
	}
	return peers, nil
}

// createPair creates one veth pair in one request.
func createPair(hc *rtConn, containerNS *os.File, ifc Interface) (linkInfo, error) {
	mtu, master := ifc.MTU, 0
	if ifc.Bridge != "" {
		index, brMTU, err := hc.indexMTU(ifc.Bridge)
		if err != nil {
			return linkInfo{}, fmt.Errorf("bridge: %w", err)
		}
		master = index
		if mtu == 0 {
			mtu = brMTU
		}
	}
	v := Veth{Name: ifc.HostName, PeerName: ifc.Name, PeerNS: containerNS,
		MTU: mtu, PeerMAC: ifc.MAC, Up: true}
	l, err := hc.addVeth(v, master)
	if err != nil {
		return linkInfo{}, fmt.Errorf("adding veth %q (peer %q): %w", v.Name, v.PeerName, err)
	}
	return l, nil
}

// delLink deletes the link called name through c.
func delLink(c *rtConn, name string) error {
	if _, err := c.do1(delLinkRequest(name)); err != nil {
		return fmt.Errorf("deleting link %q: %w", name, linkErr(err))
	}
	return nil
}

// configureContainer brings loopback and the container ends up and adds
// their addresses, the first interface's default routes and cfg.Routes,
// all in one batch: one system call, one pass through the kernel. peers holds the
// container ends' indexes, zero for one that must be looked up.
func configureContainer(c *rtConn, cfg *Config, peers []int) error {
	index := map[string]int{}
	for i, ifc := range cfg.Interfaces {
		if peers[i] == 0 {
			l, err := c.link(ifc.Name)
			if err != nil {
				return fmt.Errorf("finding %q in the container: %w", ifc.Name, err)
			}
			peers[i] = l.index
		}
		index[ifc.Name] = peers[i]
	}
	var b batch
	// Loopback is always interface 1 of a network namespace.
	b.add(setUpRequest(1), "setting loopback up")
	for i, ifc := range cfg.Interfaces {
		b.add(setUpRequest(peers[i]), "setting %q up", ifc.Name)
		for _, p := range ifc.Addresses {
			b.add(addrRequest(peers[i], p), "interface %s: adding address %v", ifc.Name, p)
		}
		if i > 0 {
			continue
		}
		for _, gw := range ifc.Gateways {
			req, err := routeRequest(peers[i], Route{Via: gw})
			if err != nil {
				return fmt.Errorf("interface %s: default route via %v: %w", ifc.Name, gw, err)
			}
			b.add(req, "interface %s: adding default route via %v", ifc.Name, gw)
		}
	}
	for _, r := range cfg.Routes {
		if r.Link == "" {
			r.Link = cfg.Interfaces[0].Name
		}
		idx, ok := index[r.Link]
		if !ok {
			l, err := c.link(r.Link)
			if err != nil {
				return fmt.Errorf("adding route %v: %w", r, err)
			}
			idx = l.index
		}
		req, err := routeRequest(idx, r)
		if err != nil {
			return fmt.Errorf("adding route %v: %w", r, err)
		}
		b.add(req, "adding route %v", r)
	}
	return b.run(c)
}

// batch is a list of requests sent together, each with what it does.
type batch struct {
	reqs []*nl.NetlinkRequest
	what []what
}

// what describes a request as a format and its arguments, formatted only
// for an error.
type what struct {
	format string
	args   []any
}

func (w what) String() string { return fmt.Sprintf(w.format, w.args...) }

func (b *batch) add(req *nl.NetlinkRequest, format string, args ...any) {
	b.reqs = append(b.reqs, req)
	b.what = append(b.what, what{format, args})
}

// run sends the batch and returns the first request's failure: the kernel
// handles the requests in order, so a later failure may follow from it.
func (b *batch) run(c *rtConn) error {
	if len(b.reqs) == 0 {
		return nil
	}
	rs, err := c.do(b.reqs...)
	if err != nil {
		return err
	}
	for i, r := range rs {
		if r.err != nil {
			return fmt.Errorf("%s: %w", b.what[i], r.err)
		}
	}
	return nil
}
