package netconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"slices"
)

// Config describes a container's network as data: what [Attach] sets up
// and [Detach] tears down. It can be printed, compared and marshalled to
// JSON; [Attachment.Config] returns it resolved, with leased addresses,
// generated names and assigned ports filled in, so that a later process can
// Detach from it after a crash.
type Config struct {
	// ID identifies the attachment: it owns the IPAM leases, seeds the
	// host-side interface names and tags NAT rules. Required: 1 to 128
	// bytes of letters, digits, '_', '-' and '.', usually the container ID.
	ID string
	// IPAM is the directory of the [IPAM] that interfaces with a Pool lease
	// from. Empty is allowed only if no interface names a pool.
	IPAM string
	// Interfaces are the container's interfaces, each one end of a veth
	// pair whose other end is in the host namespace. The first interface
	// carries the default routes. Nil: the container gets only loopback.
	Interfaces []Interface
	// Routes are added in the container after the interfaces' own routes.
	// A Route with an empty Link goes through the first interface.
	Routes []Route
	// Ports are the published ports: host ports forwarded to the
	// container. Nil publishes nothing.
	Ports []Port
	// PortMode chooses how Ports are forwarded; the zero value is
	// [PortProxy], which touches no firewall.
	PortMode PortMode
	// Hostname is the container's host name, used by [EtcFiles]. Empty:
	// the first 12 bytes of ID.
	Hostname string
	// DNS configures /etc/resolv.conf, see [EtcFiles].
	DNS DNS
	// Hosts are extra /etc/hosts entries, see [EtcFiles].
	Hosts []Host
}

// Interface is one container interface: a veth pair with one end in the
// container (Name) and the other in the host namespace (HostName),
// usually plugged into a bridge.
type Interface struct {
	// Name is the interface inside the container. Empty: "eth0" for the
	// first interface, "eth1" for the second, and so on.
	Name string
	// HostName is the host-side end. Empty: "veth" followed by 10 hex
	// digits derived from the Config's ID and Name, so that it can be found
	// again from the Config alone.
	HostName string
	// Bridge is the host bridge the host end is plugged into; it must
	// exist (see [Handle.AddBridge]). Empty leaves the host end unplugged
	// but up, for routed set-ups.
	Bridge string
	// MTU applies to both ends. Zero: the bridge's MTU, or the kernel's
	// default (1500) without a bridge.
	MTU int
	// MAC is the container end's hardware address. Nil: chosen at random
	// by the kernel.
	MAC net.HardwareAddr
	// Addresses are static addresses of the container end, with their
	// subnet length (10.88.0.5/16). Nil: none besides the leased ones.
	Addresses []netip.Prefix
	// Pool names an IPAM pool (in Config.IPAM) to lease one address per
	// subnet from; they are added after Addresses. Empty: no lease.
	Pool string
	// Gateways are the next hops of the default routes (at most one per
	// family), used on the first interface only. Nil: the leased pool's
	// gateways; without a pool, no default route.
	Gateways []netip.Addr
}

// PortMode is how published ports are forwarded to the container.
type PortMode int

const (
	// PortProxy forwards with a proxy in the calling process: it listens on
	// the host port and copies each connection (or UDP flow) to the
	// container. It works everywhere and touches no firewall; the proxy
	// lives as long as the [Attachment] in this process.
	PortProxy PortMode = iota
	// PortNAT forwards with nftables DNAT rules in the host namespace,
	// which the kernel applies without copying. The host port is still
	// bound (not listened on), so that a port in use is an error. Traffic
	// from other hosts needs forwarding enabled in the host namespace (see
	// [Handle.EnableForwarding]); connections to a loopback address are not
	// translated, so HostIP must not be one.
	PortNAT
)

// String returns "proxy" or "nat".
func (m PortMode) String() string {
	switch m {
	case PortProxy:
		return "proxy"
	case PortNAT:
		return "nat"
	}
	return fmt.Sprintf("PortMode(%d)", int(m))
}

// Port is a published port: connections to HostIP:HostPort in the host
// namespace reach the container at ContainerPort.
type Port struct {
	// Proto is "tcp" or "udp". Empty: "tcp".
	Proto string
	// HostIP is the host address to listen on. The zero Addr means every
	// IPv4 address (0.0.0.0); use :: for every IPv6 address.
	HostIP netip.Addr
	// HostPort is the host port. Zero: a free port chosen by the kernel,
	// reported in the resolved Config.
	HostPort uint16
	// ContainerPort is the port inside the container; required.
	ContainerPort uint16
}

// String formats p like "tcp 0.0.0.0:8080->80".
func (p Port) String() string {
	return fmt.Sprintf("%s %s->%d", p.Proto, netip.AddrPortFrom(p.HostIP, p.HostPort), p.ContainerPort)
}

// withDefaults fills in Proto and HostIP.
func (p Port) withDefaults() Port {
	if p.Proto == "" {
		p.Proto = "tcp"
	}
	if !p.HostIP.IsValid() {
		p.HostIP = netip.IPv4Unspecified()
	}
	return p
}

// Validate checks c without touching the system. Errors wrap fs.ErrInvalid
// and name the offending field.
func (c Config) Validate() error {
	if err := validToken("config ID", c.ID, 128); err != nil {
		return err
	}
	r := c.withDefaults()
	names := map[string]bool{}
	for i, ifc := range r.Interfaces {
		if err := ifc.validate(c.IPAM); err != nil {
			return fmt.Errorf("interface %d: %w", i, err)
		}
		if names[ifc.Name] || names["host:"+ifc.HostName] {
			return fmt.Errorf("interface %d: name %q or %q used twice: %w", i, ifc.Name, ifc.HostName, fs.ErrInvalid)
		}
		names[ifc.Name], names["host:"+ifc.HostName] = true, true
	}
	for _, rt := range r.Routes {
		if _, ok := rt.dst(); !ok || len(r.Interfaces) == 0 && rt.Link == "" {
			return fmt.Errorf("route %v: no destination or no interface: %w", rt, fs.ErrInvalid)
		}
	}
	for _, p := range r.Ports {
		if err := p.validate(c.PortMode); err != nil {
			return err
		}
	}
	if c.PortMode != PortProxy && c.PortMode != PortNAT {
		return fmt.Errorf("port mode %v: %w", c.PortMode, fs.ErrInvalid)
	}
	return nil
}

func (ifc Interface) validate(ipamDir string) error {
	if err := validName(ifc.Name); err != nil {
		return err
	}
	if err := validName(ifc.HostName); err != nil {
		return err
	}
	if ifc.Bridge != "" {
		if err := validName(ifc.Bridge); err != nil {
			return fmt.Errorf("bridge: %w", err)
		}
	}
	if ifc.MTU < 0 {
		return fmt.Errorf("MTU %d: %w", ifc.MTU, fs.ErrInvalid)
	}
	for _, a := range ifc.Addresses {
		if !a.IsValid() || a.Addr().Is4In6() {
			return fmt.Errorf("address %v: %w", a, fs.ErrInvalid)
		}
	}
	if ifc.Pool != "" {
		if ipamDir == "" {
			return fmt.Errorf("pool %q named but Config.IPAM is empty: %w", ifc.Pool, fs.ErrInvalid)
		}
		if err := validToken("pool name", ifc.Pool, 64); err != nil {
			return err
		}
	}
	for _, g := range ifc.Gateways {
		if !g.IsValid() {
			return fmt.Errorf("gateway %v: %w", g, fs.ErrInvalid)
		}
	}
	return nil
}

func (p Port) validate(mode PortMode) error {
	switch {
	case p.Proto != "tcp" && p.Proto != "udp":
		return fmt.Errorf("port %v: protocol %q is not tcp or udp: %w", p, p.Proto, fs.ErrInvalid)
	case p.ContainerPort == 0:
		return fmt.Errorf("port %v: container port is zero: %w", p, fs.ErrInvalid)
	case p.HostIP.Is4In6():
		return fmt.Errorf("port %v: IPv4-mapped host address: %w", p, fs.ErrInvalid)
	case mode == PortNAT && p.HostIP.IsLoopback():
		return fmt.Errorf("port %v: NAT cannot publish on a loopback address: %w", p, fs.ErrInvalid)
	}
	return nil
}

// withDefaults returns a deep copy of c with interface names and port
// protocols filled in.
func (c Config) withDefaults() Config {
	c = c.clone()
	for i := range c.Interfaces {
		ifc := &c.Interfaces[i]
		if ifc.Name == "" {
			ifc.Name = fmt.Sprintf("eth%d", i)
		}
		if ifc.HostName == "" {
			sum := sha256.Sum256([]byte(c.ID + "/" + ifc.Name))
			ifc.HostName = "veth" + hex.EncodeToString(sum[:])[:10]
		}
	}
	for i := range c.Ports {
		c.Ports[i] = c.Ports[i].withDefaults()
	}
	if c.Hostname == "" {
		c.Hostname = c.ID[:min(len(c.ID), 12)]
	}
	return c
}

// clone returns a deep copy of c.
func (c Config) clone() Config {
	c.Interfaces = slices.Clone(c.Interfaces)
	for i := range c.Interfaces {
		ifc := &c.Interfaces[i]
		ifc.MAC = slices.Clone(ifc.MAC)
		ifc.Addresses = slices.Clone(ifc.Addresses)
		ifc.Gateways = slices.Clone(ifc.Gateways)
	}
	c.Routes = slices.Clone(c.Routes)
	c.Ports = slices.Clone(c.Ports)
	c.DNS = c.DNS.clone()
	c.Hosts = slices.Clone(c.Hosts)
	for i := range c.Hosts {
		c.Hosts[i].Names = slices.Clone(c.Hosts[i].Names)
	}
	return c
}

// portTarget returns the container address and port p forwards to: the
// first container address of HostIP's family.
func portTarget(cfg *Config, p Port) (netip.AddrPort, error) {
	for _, ifc := range cfg.Interfaces {
		for _, a := range ifc.Addresses {
			if a.Addr().Is4() == p.HostIP.Is4() {
				return netip.AddrPortFrom(a.Addr(), p.ContainerPort), nil
			}
		}
	}
	return netip.AddrPort{}, fmt.Errorf("publishing %v: the container has no address of that family: %w", p, fs.ErrInvalid)
}
