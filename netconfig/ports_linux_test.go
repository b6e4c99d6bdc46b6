package netconfig

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/google/nftables"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestPublishedPortProxy(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.42.0.0/24")
	cfg := n.config("web")
	cfg.Ports = []Port{
		{ContainerPort: 8080}, // every host address, a free port
		{Proto: "udp", HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 8081}, // loopback works with the proxy
	}
	ctr, a := n.attach(t, cfg)
	echoServer(t, ctr, "tcp", "0.0.0.0:8080")
	echoServer(t, ctr, "udp", "0.0.0.0:8081")

	ports := a.Config().Ports
	require.Len(t, ports, 2)
	require.NotZero(t, ports[0].HostPort)
	require.NotZero(t, ports[1].HostPort)
	tcpAddr := netip.AddrPortFrom(netip.MustParseAddr("10.42.0.1"), ports[0].HostPort)
	requireEcho(t, n.host, "tcp", tcpAddr)
	requireEcho(t, n.host, "tcp", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ports[0].HostPort))
	udpAddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ports[1].HostPort)
	requireEcho(t, n.host, "udp", udpAddr)
	requireEcho(t, n.host, "udp", udpAddr) // the same flow again

	// An open connection through the proxy is cut by Detach.
	conn, err := listenIn(n.host, func() (net.Conn, error) { return net.Dial("tcp", tcpAddr.String()) })
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, a.Detach(t.Context()))
	_, err = conn.Read(make([]byte, 1))
	assert.Error(t, err, "the proxied connection is closed")
	_, err = echo(n.host, "tcp", tcpAddr, "x")
	assert.ErrorIs(t, err, unix.ECONNREFUSED, "the proxy no longer listens")
	n.requireClean(t, ctr)
}

func TestPublishedPortInUse(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	for _, mode := range []PortMode{PortProxy, PortNAT} {
		t.Run(mode.String(), func(t *testing.T) {
			n := newTestNet(t, "10.43.0.0/24")
			taken := echoServer(t, n.host, "tcp", "0.0.0.0:0")
			cfg := n.config("web")
			cfg.PortMode = mode
			cfg.Ports = []Port{{ContainerPort: 81}, {HostPort: taken.Port(), ContainerPort: 80}}
			ctr := newNetNS(t)
			_, err := Attach(t.Context(), n.host, ctr, cfg)
			require.ErrorIs(t, err, unix.EADDRINUSE)
			assert.Contains(t, err.Error(), "publishing tcp 0.0.0.0:")
			n.requireClean(t, ctr)
			assert.Empty(t, natRules(t, n.host), "no DNAT rule left")
		})
	}
}

// natRules lists the rules in Berth's IPv4 NAT table of ns.
func natRules(t *testing.T, ns *os.File) []*nftables.Rule {
	t.Helper()
	c, err := openNFT(ns, false)
	require.NoError(t, err)
	var out []*nftables.Rule
	f := familyOf(netip.IPv4Unspecified())
	for _, name := range []string{"prerouting", "output", "postrouting"} {
		rules, err := c.GetRules(f.table, f.chain(name))
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		require.NoError(t, err)
		out = append(out, rules...)
	}
	return out
}

// outside connects a third namespace to the host namespace with a veth
// pair: 10.99.0.1/24 on the host side, 10.99.0.2/24 outside. It plays
// another machine on the host's network.
func (n *testNet) outside(t *testing.T) *os.File {
	t.Helper()
	out := newNetNS(t)
	oh := openHandle(t, out)
	_, err := n.h.AddVeth(Veth{Name: "uplink", PeerName: "eth0", PeerNS: out, Up: true})
	require.NoError(t, err)
	require.NoError(t, n.h.AddAddr("uplink", netip.MustParsePrefix("10.99.0.1/24")))
	require.NoError(t, oh.SetUp("lo"))
	require.NoError(t, oh.SetUp("eth0"))
	require.NoError(t, oh.AddAddr("eth0", netip.MustParsePrefix("10.99.0.2/24")))
	t.Cleanup(func() { _ = n.h.DelLink("uplink") })
	return out
}

func TestPublishedPortNAT(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.44.0.0/24")
	out := n.outside(t)
	require.NoError(t, n.h.EnableForwarding())
	cfg := n.config("web")
	cfg.PortMode = PortNAT
	cfg.Ports = []Port{
		{HostPort: 8080, ContainerPort: 80},
		{Proto: "udp", HostIP: netip.MustParseAddr("10.99.0.1"), HostPort: 5353, ContainerPort: 53},
	}
	ctr, a := n.attach(t, cfg)
	echoServer(t, ctr, "tcp", "0.0.0.0:80")
	echoServer(t, ctr, "udp", "0.0.0.0:53")
	assert.Len(t, natRules(t, n.host), 4, "prerouting and output, per port")

	hostTCP := netip.MustParseAddrPort("10.99.0.1:8080")
	requireEcho(t, out, "tcp", hostTCP)                                      // from another machine: prerouting
	requireEcho(t, n.host, "tcp", hostTCP)                                   // from the host itself: output
	requireEcho(t, n.host, "tcp", netip.MustParseAddrPort("10.44.0.1:8080")) // any host address
	requireEcho(t, out, "udp", netip.MustParseAddrPort("10.99.0.1:5353"))

	// The host port stays reserved while published.
	_, err := listenIn(n.host, func() (net.Listener, error) { return net.Listen("tcp", "0.0.0.0:8080") })
	require.ErrorIs(t, err, unix.EADDRINUSE)

	require.NoError(t, a.Detach(t.Context()))
	assert.Empty(t, natRules(t, n.host))
	_, err = echo(out, "tcp", hostTCP, "x")
	assert.Error(t, err, "no longer forwarded")
	n.requireClean(t, ctr)
	ln, err := listenIn(n.host, func() (net.Listener, error) { return net.Listen("tcp", "0.0.0.0:8080") })
	require.NoError(t, err, "the reservation is released")
	ln.Close()
}

func TestMasquerade(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.45.0.0/24")
	out := n.outside(t)
	require.NoError(t, n.h.EnableForwarding())
	ctr, _ := n.attach(t, n.config("c1"))
	server := remoteAddrServer(t, out, "10.99.0.2:9000")

	// The outside namespace has no route back to 10.45.0.0/24: without
	// masquerade the connection cannot complete.
	require.NoError(t, n.h.AddMasquerade(netip.MustParsePrefix("10.45.0.0/24"), n.bridge))
	require.NoError(t, n.h.AddMasquerade(netip.MustParsePrefix("10.45.0.0/24"), n.bridge), "idempotent")
	assert.Len(t, natRules(t, n.host), 1)
	got, err := readAll(ctr, server)
	require.NoError(t, err)
	assert.Equal(t, "10.99.0.1", got, "the outside sees the host's address")

	require.NoError(t, n.h.DelMasquerade(netip.MustParsePrefix("10.45.0.0/24"), n.bridge))
	assert.Empty(t, natRules(t, n.host))
}

func TestPublishedPortIPv6(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	for _, mode := range []PortMode{PortProxy, PortNAT} {
		t.Run(mode.String(), func(t *testing.T) {
			n := newTestNet(t, "10.51.0.0/24", "fd00:51::/64")
			cfg := n.config("web6")
			cfg.PortMode = mode
			cfg.Ports = []Port{{HostIP: netip.IPv6Unspecified(), HostPort: 8086, ContainerPort: 80}}
			ctr, a := n.attach(t, cfg)
			echoServer(t, ctr, "tcp", "[::]:80")
			requireEchoIPv6(t, n.host, netip.MustParseAddrPort("[fd00:51::1]:8086"))
			require.NoError(t, a.Detach(t.Context()))
			_, err := echo(n.host, "tcp", netip.MustParseAddrPort("[fd00:51::1]:8086"), "x")
			assert.Error(t, err)
			n.requireClean(t, ctr)
		})
	}
}
