package netconfig

import (
	"io/fs"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestBridgeVethAddrRoute(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "netns")
	testutil.RequireFeature(t, "veth")
	testutil.RequireFeature(t, "bridge")
	testutil.CheckLeaks(t)
	host, ctr := newNetNS(t), newNetNS(t)
	hh, ch := openHandle(t, host), openHandle(t, ctr)

	br := Bridge{Name: "br-test", MTU: 1400, Addresses: []netip.Prefix{
		netip.MustParsePrefix("10.20.0.1/24"), netip.MustParsePrefix("fd00:20::1/64")}}
	l, err := hh.AddBridge(br)
	require.NoError(t, err)
	assert.Equal(t, "bridge", l.Type)
	assert.Equal(t, 1400, l.MTU)
	assert.True(t, l.Up)
	again, err := hh.AddBridge(br)
	require.NoError(t, err, "AddBridge is idempotent")
	assert.Equal(t, l.Index, again.Index)
	addrs, err := hh.Addrs("br-test")
	require.NoError(t, err)
	assert.Contains(t, addrs, br.Addresses[0])
	assert.Contains(t, addrs, br.Addresses[1])

	mac := net.HardwareAddr{0x02, 0x42, 0x0a, 0x14, 0x00, 0x02}
	v, err := hh.AddVeth(Veth{Name: "vtest0", PeerName: "eth0", PeerNS: ctr, MTU: 1400, PeerMAC: mac, Master: "br-test", Up: true})
	require.NoError(t, err)
	assert.Equal(t, l.Index, v.MasterIndex)
	assert.True(t, v.Up)
	assert.Equal(t, 1400, v.MTU)
	for _, h := range []*Handle{hh, ch} {
		name := map[*Handle]string{hh: "vtest0", ch: "eth0"}[h]
		got, err := h.nl.LinkByName(name)
		require.NoError(t, err)
		assert.Equal(t, 1, got.Attrs().NumTxQueues, "%s: one transmit queue", name)
		assert.Equal(t, 1, got.Attrs().NumRxQueues, "%s: one receive queue", name)
		if h == hh {
			assert.Equal(t, v.Index, got.Attrs().Index)
			assert.Equal(t, l.Index, got.Attrs().MasterIndex, "enslaved")
		}
	}
	peer, err := ch.Link("eth0")
	require.NoError(t, err, "the peer is created in the container namespace with its final name")
	assert.Equal(t, mac, peer.MAC)
	assert.Equal(t, 1400, peer.MTU)
	assert.False(t, peer.Up)
	_, err = hh.Link("eth0")
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing named eth0 on the host side")

	require.NoError(t, ch.SetUp("lo"))
	require.NoError(t, ch.SetUp("eth0"))
	require.NoError(t, ch.AddAddr("eth0", netip.MustParsePrefix("10.20.0.2/24")))
	require.ErrorIs(t, ch.AddAddr("eth0", netip.MustParsePrefix("10.20.0.2/24")), fs.ErrExist)
	require.NoError(t, ch.AddRoute(Route{Via: netip.MustParseAddr("10.20.0.1")}))
	routes, err := ch.Routes("eth0")
	require.NoError(t, err)
	assert.Contains(t, routes, Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.20.0.1"), Link: "eth0"})
	require.NoError(t, ch.DelRoute(Route{Via: netip.MustParseAddr("10.20.0.1")}))
	require.NoError(t, ch.DelAddr("eth0", netip.MustParsePrefix("10.20.0.2/24")))

	links, err := ch.Links()
	require.NoError(t, err)
	var names []string
	for _, l := range links {
		names = append(names, l.Name)
	}
	assert.Equal(t, []string{"lo", "eth0"}, names)

	require.NoError(t, hh.DelLink("vtest0"))
	_, err = ch.Link("eth0")
	assert.ErrorIs(t, err, fs.ErrNotExist, "deleting one end deletes the peer")
	assert.ErrorIs(t, hh.DelLink("vtest0"), fs.ErrNotExist)
}

func TestHandleBadInput(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "netns")
	testutil.RequireFeature(t, "veth")
	testutil.RequireFeature(t, "bridge")
	testutil.CheckLeaks(t)
	host, ctr := newNetNS(t), newNetNS(t)
	hh := openHandle(t, host)
	_, err := hh.AddBridge(Bridge{Name: "br0", Addresses: []netip.Prefix{netip.MustParsePrefix("10.30.0.1/16")}})
	require.NoError(t, err)

	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"bridge name too long", func() error {
			_, err := hh.AddBridge(Bridge{Name: strings.Repeat("b", 16)})
			return err
		}, fs.ErrInvalid},
		{"veth name too long", func() error {
			_, err := hh.AddVeth(Veth{Name: strings.Repeat("v", 16), PeerName: "eth0", PeerNS: ctr})
			return err
		}, fs.ErrInvalid},
		{"peer name with slash", func() error {
			_, err := hh.AddVeth(Veth{Name: "v0", PeerName: "eth/0", PeerNS: ctr})
			return err
		}, fs.ErrInvalid},
		{"overlapping bridge subnet", func() error {
			_, err := hh.AddBridge(Bridge{Name: "br1", Addresses: []netip.Prefix{netip.MustParsePrefix("10.30.5.1/24")}})
			return err
		}, ErrOverlap},
		{"missing master", func() error {
			_, err := hh.AddVeth(Veth{Name: "v0", PeerName: "eth0", PeerNS: ctr, Master: "nosuch"})
			return err
		}, fs.ErrNotExist},
		{"veth name of the bridge", func() error {
			_, err := hh.AddVeth(Veth{Name: "br0", PeerName: "eth0", PeerNS: ctr})
			return err
		}, fs.ErrExist},
		{"bridge name of a non-bridge", func() error {
			_, err := hh.AddBridge(Bridge{Name: "lo"})
			return err
		}, fs.ErrExist},
		{"route without destination", func() error { return hh.AddRoute(Route{}) }, fs.ErrInvalid},
		{"unreachable gateway", func() error {
			return hh.AddRoute(Route{Via: netip.MustParseAddr("192.0.2.1")})
		}, unix.ENETUNREACH},
		{"MTU zero", func() error { return hh.SetMTU("br0", 0) }, fs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, tt.do(), tt.want)
			links, err := hh.Links()
			require.NoError(t, err)
			assert.Len(t, links, 2, "only lo and br0: nothing half-configured")
		})
	}
}

func TestClosedHandle(t *testing.T) {
	h, err := Open(nil) // the test's own namespace: needs no privilege
	require.NoError(t, err)
	require.NoError(t, h.Close())
	require.NoError(t, h.Close(), "Close twice")
	// A closed Handle must not fall back to the current namespace.
	assert.ErrorIs(t, h.EnableForwarding(), fs.ErrClosed)
	assert.ErrorIs(t, h.AddMasquerade(netip.MustParsePrefix("10.0.0.0/8"), "br0"), fs.ErrClosed)
	_, err = h.Links()
	assert.ErrorIs(t, err, fs.ErrClosed)
	assert.ErrorIs(t, h.SetUp("lo"), fs.ErrClosed)
	_, err = Open(nil, WithSocketTimeout(-1))
	assert.ErrorIs(t, err, fs.ErrInvalid)
}
