package berth

import (
	"fmt"
	"io/fs"
	"net/netip"
	"slices"

	"github.com/berthlabs/berth/namespaces"
	"github.com/berthlabs/berth/netconfig"
)

// NetworkMode is how a container is connected, as docker run --network
// says it.
type NetworkMode string

// The network modes.
const (
	// NetworkNone gives the container a network namespace of its own with
	// only a loopback interface.
	NetworkNone NetworkMode = "none"
	// NetworkHost shares the network namespace of the process that starts
	// the container (like [namespaces.Net] in [Container.Share]): the
	// container sees and can reconfigure the host's interfaces, and its
	// abstract unix sockets (CVE-2020-15257). Use it knowingly.
	NetworkHost NetworkMode = "host"
	// NetworkBridge gives the container a network namespace with loopback
	// and eth0, one end of a veth pair whose other end is plugged into the
	// [Runtime]'s bridge (berth0 unless [WithBridge] says otherwise), an
	// address leased from the bridge's subnet, and a default route through
	// the bridge. Containers on one bridge reach each other, by name too:
	// each one's /etc/hosts lists the others' IDs and host names.
	NetworkBridge NetworkMode = "bridge"
)

// Network describes a container's network, like docker run's --network,
// -p, --dns and --add-host. A container with a Network gets its own
// /etc/hosts, /etc/resolv.conf and /etc/hostname, files in its state
// directory bind-mounted over the rootfs's (which the rootfs need not
// have).
type Network struct {
	// Mode is the kind of network; "" means [NetworkNone]. NetworkBridge
	// needs a Container from [Runtime.NewContainer], whose Runtime owns
	// the bridge and the IP leases.
	Mode NetworkMode

	// Ports are published: connections to a host port in the Runtime's
	// host network namespace reach the container's port (docker run -p).
	// A zero HostPort is chosen by the kernel; [State] records the
	// choice. Bridge mode only. Nil publishes nothing.
	Ports []netconfig.Port

	// DNS configures /etc/resolv.conf (docker run --dns, --dns-search,
	// --dns-option). The zero value takes the host's /etc/resolv.conf,
	// leaving out loopback servers, which do not answer in the container.
	DNS netconfig.DNS

	// Hosts are extra /etc/hosts entries (docker run --add-host). Nil: none.
	Hosts []netconfig.Host
}

// NetworkState is what a container's state records about its network:
// enough for any process to undo it.
type NetworkState struct {
	// Mode is the container's [NetworkMode].
	Mode NetworkMode `json:"mode"`
	// HostNetNS is the path of the network namespace holding the bridge
	// and the published ports; "" is the namespace of the process that
	// started the container (the monitor, for a detached one).
	HostNetNS string `json:"hostNetNS,omitempty"`
	// Config is the network as netconfig sets it up: requested before the
	// container runs, resolved (leased addresses, host-side names, chosen
	// host ports) once it does. Config.Hosts holds only the caller's
	// extra entries; the other containers of the bridge are added when
	// /etc/hosts is written.
	Config netconfig.Config `json:"config"`
}

// Addrs returns the container's addresses on its interfaces.
func (n *NetworkState) Addrs() []netip.Addr {
	var out []netip.Addr
	for _, ifc := range n.Config.Interfaces {
		for _, p := range ifc.Addresses {
			out = append(out, p.Addr())
		}
	}
	return out
}

// bridge returns the bridge of the container's first interface, "" for
// none.
func (n *NetworkState) bridge() string {
	if n == nil || len(n.Config.Interfaces) == 0 {
		return ""
	}
	return n.Config.Interfaces[0].Bridge
}

// bridgeConfig is what a Runtime contributes to a bridge-mode container.
type bridgeConfig struct {
	name      string
	ipamDir   string
	hostNetNS string
	portMode  netconfig.PortMode
}

// networkState validates c.Network against the container's other fields
// and returns the state to record; nil for a container without one. br is
// the Runtime's bridge, nil without a Runtime.
func (c *Container) networkState(hostname string, br *bridgeConfig) (*NetworkState, error) {
	n := c.Network
	if n == nil {
		return nil, nil
	}
	mode := n.Mode
	if mode == "" {
		mode = NetworkNone
	}
	shared := c.Share&namespaces.Net != 0
	switch {
	case mode != NetworkNone && mode != NetworkHost && mode != NetworkBridge:
		return nil, fmt.Errorf("network mode %q: want none, host or bridge: %w", mode, fs.ErrInvalid)
	case shared && mode != NetworkHost:
		return nil, fmt.Errorf("network mode %q with the host's network namespace shared: %w", mode, fs.ErrInvalid)
	case len(n.Ports) > 0 && mode != NetworkBridge:
		return nil, fmt.Errorf("published ports need network mode bridge, not %q: %w", mode, fs.ErrInvalid)
	case mode == NetworkBridge && br == nil:
		return nil, fmt.Errorf("network mode bridge needs a container from Runtime.NewContainer: %w", fs.ErrInvalid)
	}
	st := &NetworkState{Mode: mode, Config: netconfig.Config{
		ID: c.ID, Hostname: hostname, DNS: n.DNS, Hosts: slices.Clone(n.Hosts),
	}}
	if mode == NetworkBridge {
		st.HostNetNS = br.hostNetNS
		st.Config.IPAM = br.ipamDir
		st.Config.Interfaces = []netconfig.Interface{{Bridge: br.name, Pool: br.name}}
		st.Config.Ports = slices.Clone(n.Ports)
		st.Config.PortMode = br.portMode
		if err := st.Config.Validate(); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// member is a container on a bridge, as the /etc/hosts files of the
// others list it.
type member struct {
	id       string
	hostname string
	addrs    []netip.Addr
	extra    []netconfig.Host // its own --add-host entries
}

// hostsFor returns the /etc/hosts content of m on a bridge with peers:
// its own names and extra entries, then one entry per address of every
// other member, named by its ID and host name.
func hostsFor(m member, peers []member) ([]byte, error) {
	extra := slices.Clone(m.extra)
	for _, p := range peers {
		if p.id == m.id {
			continue
		}
		names := peerNames(p)
		for _, a := range p.addrs {
			extra = append(extra, netconfig.Host{Addr: a, Names: names})
		}
	}
	return netconfig.HostsFile(m.hostname, m.addrs, extra)
}

// memberOf returns st as a bridge member.
func memberOf(st *State) member {
	name := st.Network.Config.Hostname
	if name == "" {
		name = st.ID[:min(12, len(st.ID))]
	}
	return member{id: st.ID, hostname: name, addrs: st.Network.Addrs(), extra: st.Network.Config.Hosts}
}

// peerNames are the names other containers know p by: its ID (the short
// 12-digit form when the ID is no valid host name, as a 64-digit ID is
// not) and its host name.
func peerNames(p member) []string {
	id := p.id
	if _, err := netconfig.HostnameFile(id); err != nil {
		id = id[:min(12, len(id))]
	}
	names := []string{id}
	if _, err := netconfig.HostnameFile(p.hostname); err == nil && p.hostname != id {
		names = append(names, p.hostname)
	}
	return names
}
