// Package netconfig connects containers' network namespaces to a host:
// bridges, veth pairs, addresses and routes through netlink, a file-backed
// IPAM, published ports, and the /etc/hosts, /etc/resolv.conf and
// /etc/hostname a container needs. It does what the CNI bridge plugin,
// host-local IPAM and portmap do, in the calling process, without starting
// any other program.
//
// # Vocabulary
//
//   - host namespace: the network namespace holding the bridge, usually the
//     initial one; tests use a namespace of their own that plays the host.
//   - container namespace: the network namespace of one container.
//   - host end and container end: the two interfaces of a veth pair. The
//     container end is created directly in the container namespace under its
//     final name (eth0), which is far cheaper than moving it there.
//   - pool, lease, owner: an [IPAM] hands out leases of one address per
//     subnet of a [Pool] to an owner, usually a container ID.
//   - published port: a host port forwarded to a container port, by a
//     userland proxy ([PortProxy]) or by nftables DNAT ([PortNAT]).
//   - resolved Config: the [Config] an [Attachment] returns, with leased
//     addresses, generated names and chosen host ports filled in; enough to
//     [Detach] from another process.
//
// # A worked flow
//
//	ipam, _ := netconfig.NewIPAM("/var/lib/myrt/ipam")
//	pool, _ := ipam.CreatePool(ctx, netconfig.Pool{Name: "default",
//		Subnets: []netconfig.Subnet{{Prefix: netip.MustParsePrefix("10.88.0.0/16")}}})
//	host, _ := netconfig.Open(nil) // the current namespace plays the host
//	host.AddBridge(netconfig.Bridge{Name: "berth0", Addresses: []netip.Prefix{
//		netip.PrefixFrom(pool.Subnets[0].Gateway, 16)}})
//	// For each container, once its namespace exists (/proc/PID/ns/net);
//	// netconfig.Attach(ctx, hostNS, containerNS, cfg) does the same
//	// without a Handle kept open:
//	att, err := host.Attach(ctx, containerNS, netconfig.Config{
//		ID: id, IPAM: ipam.Dir(),
//		Interfaces: []netconfig.Interface{{Bridge: "berth0", Pool: "default"}},
//		Ports: []netconfig.Port{{HostPort: 8080, ContainerPort: 80}},
//	})
//	files, _ := netconfig.EtcFiles(att.Config(), hostResolvConf)
//	// ... write files into the container's root filesystem, run it ...
//	att.Detach(ctx) // veth, addresses, routes, lease and proxy are gone
//
// # Privileges and kernel
//
// Everything but the IPAM, [EtcFiles] and [Config.Validate] needs
// CAP_NET_ADMIN in the namespaces involved (and CAP_SYS_ADMIN to join
// them), veth and bridge support, and for [PortNAT] and
// [Handle.AddMasquerade] nf_tables with NAT. The IPAM needs only a
// writable directory, and works unprivileged.
//
// # Threads and namespaces
//
// A [Handle] is bound to its namespace when it is opened: its netlink
// sockets are created on a locked OS thread that joins the namespace and
// returns; afterwards any goroutine may use it. Proxies and port
// reservations create their sockets the same way. No thread is ever left in
// a namespace it did not start in: a thread that cannot return is
// discarded. A nil namespace means the calling process's own one.
//
// Nothing here touches a namespace it was not given: the host-side
// changes happen in the host namespace passed to [Attach] or [Open]. Only
// [Handle.EnableForwarding] and [Handle.AddMasquerade] change how a host
// routes, and only when called.
//
// # Caveats
//
// Deleting a veth costs the kernel about 15 ms here (RCU grace periods),
// so [Detach] takes that long; deleting the container namespace instead
// deletes its veths too, asynchronously. [PortProxy] lives in the process
// that attached: that process must stay alive while the ports are
// published. [PortNAT] does not translate connections to loopback
// addresses and needs forwarding enabled for traffic from other hosts.
// IPv6 addresses are added without duplicate address detection, but the
// kernel still makes a new IPv6 address routable from a work queue, a few
// milliseconds after it was added: a connection opened in that window to
// the container's or the bridge's new IPv6 address can hang, a later one
// works. IPv4 has no such delay; when Attach returns, the host end's
// queue and bridge port are enabled, so the container answers at once.
// Lease
// liveness is decided by PID and process start time in the IPAM user's PID
// namespace, unless [WithOwnerCheck] says otherwise.
//
// # When not to use it
//
// Use CNI plugins instead when a container platform must load third-party
// network plugins (overlays, SR-IOV, cloud VPCs) chosen by configuration,
// or when addresses come from DHCP or a cluster-wide IPAM; netconfig covers
// the single-host bridge case only. If a firewall manager (firewalld, a
// Kubernetes network policy agent) owns the nftables ruleset, prefer
// [PortProxy], which installs no rules.
package netconfig
