package netconfig

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testNet is a host namespace with a bridge and an IPAM pool matching it.
type testNet struct {
	host   *os.File
	h      *Handle
	ipam   *IPAM
	bridge string
	pool   Pool
}

func requireNetPrivileges(t testing.TB) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "netns")
	testutil.RequireFeature(t, "veth")
	testutil.RequireFeature(t, "bridge")
}

// newTestNet creates a host namespace with bridge br0 carrying the
// gateways of the given subnets, and a pool "net" over them.
func newTestNet(t testing.TB, subnets ...string) *testNet {
	t.Helper()
	n := &testNet{host: newNetNS(t), bridge: "br0"}
	n.h = openHandle(t, n.host)
	require.NoError(t, n.h.SetUp("lo"))
	var err error
	n.ipam, err = NewIPAM(t.TempDir())
	require.NoError(t, err)
	n.pool = mustPool(t, n.ipam, "net", subnets...)
	br := Bridge{Name: n.bridge}
	for _, s := range n.pool.Subnets {
		br.Addresses = append(br.Addresses, netip.PrefixFrom(s.Gateway, s.Prefix.Bits()))
	}
	_, err = n.h.AddBridge(br)
	require.NoError(t, err)
	return n
}

func (n *testNet) config(id string) Config {
	return Config{ID: id, IPAM: n.ipam.Dir(), Interfaces: []Interface{{Bridge: n.bridge, Pool: "net"}}}
}

// attach attaches a fresh container namespace and detaches in t.Cleanup.
func (n *testNet) attach(t *testing.T, cfg Config) (*os.File, *Attachment) {
	t.Helper()
	ctr := newNetNS(t)
	a, err := Attach(t.Context(), n.host, ctr, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, a.Detach(context.Background())) })
	return ctr, a
}

func linkNames(t *testing.T, ns *os.File) []string {
	t.Helper()
	h := openHandle(t, ns)
	links, err := h.Links()
	require.NoError(t, err)
	var names []string
	for _, l := range links {
		names = append(names, l.Name)
	}
	return names
}

func (n *testNet) requireClean(t *testing.T, containers ...*os.File) {
	t.Helper()
	hostLinks := slices.DeleteFunc(linkNames(t, n.host), func(s string) bool { return s == "uplink" })
	assert.Equal(t, []string{"lo", n.bridge}, hostLinks, "host links")
	for _, c := range containers {
		assert.Equal(t, []string{"lo"}, linkNames(t, c), "container links")
	}
	leases, err := n.ipam.Leases(t.Context(), "net")
	require.NoError(t, err)
	assert.Empty(t, leases)
}

func TestAttachTwoContainersReachEachOtherAndGateway(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.40.0.0/24", "fd00:40::/64")
	c1, a1 := n.attach(t, n.config("c1"))
	c2, a2 := n.attach(t, n.config("c2"))

	cfg1, cfg2 := a1.Config(), a2.Config()
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.40.0.2/24"), netip.MustParsePrefix("fd00:40::2/64")}, cfg1.Interfaces[0].Addresses)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.40.0.3/24"), netip.MustParsePrefix("fd00:40::3/64")}, cfg2.Interfaces[0].Addresses)
	assert.Equal(t, "eth0", cfg1.Interfaces[0].Name)
	assert.Len(t, cfg1.Interfaces[0].HostName, 14)

	for _, ip := range []string{"10.40.0.3", "fd00:40::3"} {
		addr := echoServer(t, c2, "tcp", netip.AddrPortFrom(netip.MustParseAddr(ip), 7000).String())
		requireEcho(t, c1, "tcp", addr)
	}
	udp := echoServer(t, c2, "udp", "10.40.0.3:7001")
	requireEcho(t, c1, "udp", udp)
	for _, gw := range []string{"10.40.0.1", "fd00:40::1"} {
		addr := echoServer(t, n.host, "tcp", netip.AddrPortFrom(netip.MustParseAddr(gw), 7002).String())
		requireEcho(t, c1, "tcp", addr)
	}

	ch := openHandle(t, c1)
	routes, err := ch.Routes("eth0")
	require.NoError(t, err)
	assert.Contains(t, routes, Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.40.0.1"), Link: "eth0"})
	lo, err := ch.Link("lo")
	require.NoError(t, err)
	assert.True(t, lo.Up)

	require.NoError(t, a1.Detach(t.Context()))
	require.NoError(t, a1.Detach(t.Context()), "Detach twice is harmless")
	require.NoError(t, a2.Detach(t.Context()))
	n.requireClean(t, c1, c2)
}

func TestAttachLinkProperties(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.42.0.0/24")
	br, err := n.h.AddBridge(Bridge{Name: "br-mtu", MTU: 1400})
	require.NoError(t, err)
	mac := net.HardwareAddr{0x02, 0x42, 0x0a, 0x2a, 0x00, 0x09}
	cfg := n.config("props")
	cfg.Interfaces = append(cfg.Interfaces, Interface{Bridge: "br-mtu", MAC: mac,
		Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.9/24")}})
	ctr, a := n.attach(t, cfg)
	got := a.Config()

	ch := openHandle(t, ctr)
	for i, want := range []struct {
		name, bridge string
		mtu          int
	}{{"eth0", n.bridge, 1500}, {"eth1", "br-mtu", 1400}} {
		c, err := ch.nl.LinkByName(want.name)
		require.NoError(t, err)
		ca := c.Attrs()
		assert.Equal(t, want.mtu, ca.MTU, "%s: the bridge's MTU", want.name)
		assert.NotZero(t, ca.Flags&net.FlagUp, "%s is up", want.name)
		assert.Equal(t, 1, ca.NumTxQueues)
		h, err := n.h.nl.LinkByName(got.Interfaces[i].HostName)
		require.NoError(t, err)
		ha := h.Attrs()
		assert.Equal(t, want.mtu, ha.MTU)
		assert.NotZero(t, ha.Flags&net.FlagUp, "host end of %s is up", want.name)
		wantMaster, err := n.h.Link(want.bridge)
		require.NoError(t, err)
		assert.Equal(t, wantMaster.Index, ha.MasterIndex, "host end of %s is in %s", want.name, want.bridge)
		addrs, err := ch.Addrs(want.name)
		require.NoError(t, err)
		assert.Contains(t, addrs, got.Interfaces[i].Addresses[0])
	}
	eth1, err := ch.Link("eth1")
	require.NoError(t, err)
	assert.Equal(t, mac, eth1.MAC)
	assert.Equal(t, 1400, br.MTU)
	lo, err := ch.Link("lo")
	require.NoError(t, err)
	assert.True(t, lo.Up)
	routes, err := ch.Routes("")
	require.NoError(t, err)
	assert.Contains(t, routes, Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.42.0.1"), Link: "eth0"})
	assert.Contains(t, routes, Route{Dst: netip.MustParsePrefix("192.0.2.0/24"), Src: netip.MustParseAddr("192.0.2.9"), Link: "eth1"})
}

// TestAttachReachableAtOnce checks that the container answers the host as
// soon as Attach returns. Without settleLinks, the kernel enabled the
// host end's queue and bridge port asynchronously: in about a third of the
// attachments the bridge's first ARP request to the container was dropped
// and repeated a second later, longer than the timeout here.
func TestAttachReachableAtOnce(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.43.0.0/24")
	for i := range 10 {
		ctr := newNetNS(t)
		srv := echoServer(t, ctr, "tcp", "0.0.0.0:7000")
		a, err := Attach(t.Context(), n.host, ctr, n.config(fmt.Sprint("now", i)))
		require.NoError(t, err)
		addr := netip.AddrPortFrom(a.Config().Interfaces[0].Addresses[0].Addr(), srv.Port())
		c, err := listenIn(n.host, func() (net.Conn, error) { return net.DialTimeout("tcp", addr.String(), 500*time.Millisecond) })
		if err == nil {
			c.Close()
		}
		assert.NoError(t, err, "attachment %d: connecting at once", i)
		require.NoError(t, a.Detach(t.Context()))
	}
}

func TestDetachFromResolvedConfig(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.41.0.0/24")
	ctr := newNetNS(t)
	a, err := Attach(t.Context(), n.host, ctr, n.config("c1"))
	require.NoError(t, err)
	// Another process would only have the resolved Config, e.g. from disk.
	require.NoError(t, Detach(t.Context(), n.host, a.Config()))
	n.requireClean(t, ctr)
	require.NoError(t, Detach(t.Context(), n.host, a.Config()), "Detach is repeatable")
	require.NoError(t, a.Detach(t.Context()))
}

func TestHandleAttach(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.44.0.0/24")
	h, err := Open(n.host)
	require.NoError(t, err)
	ctr := newNetNS(t)
	a, err := h.Attach(t.Context(), ctr, n.config("c1"))
	require.NoError(t, err)
	assert.Equal(t, []string{"lo", "eth0"}, linkNames(t, ctr))
	require.NoError(t, h.Close())
	require.NoError(t, a.Detach(t.Context()), "the Attachment outlives the Handle")
	n.requireClean(t, ctr)

	_, err = h.Attach(t.Context(), ctr, n.config("c2"))
	require.ErrorIs(t, err, fs.ErrClosed)
	_, err = n.h.Attach(t.Context(), nil, n.config("c2"))
	require.ErrorIs(t, err, fs.ErrInvalid)
	_, err = n.h.Attach(t.Context(), ctr, Config{ID: "a b"})
	require.ErrorIs(t, err, fs.ErrInvalid)
	n.requireClean(t, ctr)
}
