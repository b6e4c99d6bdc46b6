package netconfig

import (
	"io/fs"
	"net/netip"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// getLink is a GETLINK request for name, as rtConn.link sends it.
func getLink(name string) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, 0)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	return req
}

// The tests on rtConn use the test's own namespace and only read from it,
// which needs no privilege.
func TestRTConnBatchRepliesPerRequest(t *testing.T) {
	c, err := dialRT(nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.close() })

	rs, err := c.do(getLink("lo"), getLink("nosuch0"), getLink("lo"))
	require.NoError(t, err)
	require.Len(t, rs, 3)
	for _, i := range []int{0, 2} {
		require.NoError(t, rs[i].err)
		require.Len(t, rs[i].msgs, 1)
		l, err := parseLink(rs[i].msgs[0].Data)
		require.NoError(t, err)
		assert.Equal(t, 1, l.index, "loopback is interface 1")
	}
	assert.ErrorIs(t, rs[1].err, unix.ENODEV, "a failed request in the middle has its own error")
	assert.Empty(t, rs[1].msgs)

	_, err = c.link("nosuch0")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	l, err := c.link("lo")
	require.NoError(t, err)
	assert.Equal(t, linkInfo{index: 1, mtu: l.mtu, up: l.up, mac: l.mac}, l)
}

func TestRTConnIndexMTU(t *testing.T) {
	c, err := dialRT(nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.close() })

	want, err := c.link("lo")
	require.NoError(t, err)
	index, mtu, err := c.indexMTU("lo")
	require.NoError(t, err)
	assert.Equal(t, 1, index)
	assert.Equal(t, want.mtu, mtu)

	_, _, err = c.indexMTU("nosuch0")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorIs(t, err, unix.ENODEV)
	_, _, err = c.indexMTU("a-name-far-too-long")
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

func TestRTConnClosed(t *testing.T) {
	c, err := dialRT(nil)
	require.NoError(t, err)
	require.NoError(t, c.close())
	require.NoError(t, c.close(), "closing twice is harmless")
	_, err = c.do(getLink("lo"))
	assert.ErrorIs(t, err, fs.ErrClosed)
	_, _, err = c.indexMTU("lo")
	assert.ErrorIs(t, err, fs.ErrClosed)
}

func TestAckError(t *testing.T) {
	ack := func(errno int32, flags uint16, attrs ...*nl.RtAttr) []byte {
		b := nl.Uint32Attr(uint32(-errno))
		b = append(b, (&nl.NetlinkRequest{NlMsghdr: unix.NlMsghdr{Len: unix.SizeofNlMsghdr}}).Serialize()...)
		if flags&unix.NLM_F_CAPPED == 0 {
			// The request's header again, with a payload of 4 bytes.
			b = append(b[:4], (&nl.NetlinkRequest{RawData: []byte{1, 2, 3, 4}}).Serialize()...)
		}
		for _, a := range attrs {
			b = append(b, a.Serialize()...)
		}
		return b
	}
	msg := nl.NewRtAttr(nl.NLMSGERR_ATTR_MSG, nl.ZeroTerminated("Unknown device type"))
	tests := []struct {
		name  string
		flags uint16
		data  []byte
		want  error
		text  string
	}{
		{"success", unix.NLM_F_CAPPED, ack(0, unix.NLM_F_CAPPED), nil, ""},
		{"errno", unix.NLM_F_CAPPED, ack(int32(unix.EEXIST), unix.NLM_F_CAPPED), unix.EEXIST, "file exists"},
		{"errno and message", unix.NLM_F_CAPPED | unix.NLM_F_ACK_TLVS,
			ack(int32(unix.EOPNOTSUPP), unix.NLM_F_CAPPED, msg), unix.EOPNOTSUPP,
			"operation not supported (Unknown device type)"},
		{"message after the request's payload", unix.NLM_F_ACK_TLVS,
			ack(int32(unix.EINVAL), 0, msg), unix.EINVAL, "invalid argument (Unknown device type)"},
		{"short", 0, []byte{1, 2}, unix.EBADMSG, "short netlink acknowledgement: bad message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ackError(tt.flags, tt.data)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			assert.Equal(t, tt.text, err.Error())
		})
	}
}

// attrs parses a serialized request: its fixed header of n bytes, then
// attributes by type.
func attrs(t *testing.T, req *nl.NetlinkRequest, n int) ([]byte, map[uint16][]byte) {
	t.Helper()
	msgs, err := syscall.ParseNetlinkMessage(req.Serialize())
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	as, err := nl.ParseRouteAttr(msgs[0].Data[n:])
	require.NoError(t, err)
	out := map[uint16][]byte{}
	for _, a := range as {
		out[a.Attr.Type] = a.Value
	}
	return msgs[0].Data[:n], out
}

func TestAddrRequest(t *testing.T) {
	tests := []struct {
		prefix    string
		broadcast string // "" for none
	}{
		{"10.88.0.2/16", "10.88.255.255"},
		{"10.1.2.3/20", "10.1.15.255"},
		{"192.168.7.9/24", "192.168.7.255"},
		{"10.0.0.1/8", "10.255.255.255"},
		{"10.0.0.1/30", "10.0.0.3"},
		{"10.0.0.1/31", ""},
		{"10.0.0.1/32", ""},
		{"fd00::2/64", ""},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			p := netip.MustParsePrefix(tt.prefix)
			hdr, as := attrs(t, addrRequest(7, p), unix.SizeofIfAddrmsg)
			msg := nl.DeserializeIfAddrmsg(hdr)
			assert.Equal(t, uint32(7), msg.Index)
			assert.Equal(t, uint8(p.Bits()), msg.Prefixlen)
			assert.Equal(t, p.Addr().AsSlice(), as[unix.IFA_LOCAL])
			assert.Equal(t, p.Addr().AsSlice(), as[unix.IFA_ADDRESS])
			if p.Addr().Is6() {
				assert.Equal(t, uint8(unix.AF_INET6), msg.Family)
				assert.Equal(t, uint8(unix.IFA_F_NODAD), msg.Flags, "IPv6 without duplicate address detection")
			}
			if tt.broadcast == "" {
				assert.NotContains(t, as, uint16(unix.IFA_BROADCAST))
				return
			}
			assert.Equal(t, netip.MustParseAddr(tt.broadcast).AsSlice(), as[unix.IFA_BROADCAST])
		})
	}
}

func TestRouteRequest(t *testing.T) {
	hdr, as := attrs(t, routeReq(t, 3, Route{Via: netip.MustParseAddr("10.88.0.1")}), unix.SizeofRtMsg)
	msg := nl.DeserializeRtMsg(hdr)
	assert.Equal(t, uint8(unix.AF_INET), msg.Family)
	assert.Equal(t, uint8(0), msg.Dst_len, "default route")
	assert.Equal(t, uint8(unix.RT_TABLE_MAIN), msg.Table)
	assert.Equal(t, uint8(unix.RT_SCOPE_UNIVERSE), msg.Scope)
	assert.NotContains(t, as, uint16(unix.RTA_DST))
	assert.Equal(t, []byte{10, 88, 0, 1}, as[unix.RTA_GATEWAY])
	assert.Equal(t, nl.Uint32Attr(3), as[unix.RTA_OIF])

	hdr, as = attrs(t, routeReq(t, 0, Route{Dst: netip.MustParsePrefix("fd00:1::5/64"),
		Src: netip.MustParseAddr("fd00::2"), Metric: 50}), unix.SizeofRtMsg)
	msg = nl.DeserializeRtMsg(hdr)
	assert.Equal(t, uint8(unix.AF_INET6), msg.Family)
	assert.Equal(t, uint8(64), msg.Dst_len)
	assert.Equal(t, uint8(unix.RT_SCOPE_LINK), msg.Scope, "no next hop: on link")
	assert.Equal(t, netip.MustParseAddr("fd00:1::").AsSlice(), as[unix.RTA_DST], "host bits cleared")
	assert.Equal(t, netip.MustParseAddr("fd00::2").AsSlice(), as[unix.RTA_PREFSRC])
	assert.Equal(t, nl.Uint32Attr(50), as[unix.RTA_PRIORITY])
	assert.NotContains(t, as, uint16(unix.RTA_OIF))

	_, err := routeRequest(1, Route{})
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = routeRequest(1, Route{Dst: netip.MustParsePrefix("10.0.0.0/8"), Via: netip.MustParseAddr("fd00::1")})
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

func TestVethRequest(t *testing.T) {
	hdr, as := attrs(t, vethRequest(Veth{Name: "vh", PeerName: "eth0", MTU: 1400, Up: true}, 4), unix.SizeofIfInfomsg)
	msg := nl.DeserializeIfInfomsg(hdr)
	assert.Equal(t, uint32(unix.IFF_UP), msg.Flags&unix.IFF_UP)
	assert.Equal(t, nl.Uint32Attr(4), as[unix.IFLA_MASTER], "enslaved in the creating request")
	assert.Equal(t, nl.Uint32Attr(1400), as[unix.IFLA_MTU])
	assert.Equal(t, nl.Uint32Attr(vethQueues), as[unix.IFLA_NUM_TX_QUEUES])
	assert.Equal(t, nl.Uint32Attr(vethQueues), as[unix.IFLA_NUM_RX_QUEUES])

	_, as = attrs(t, vethRequest(Veth{Name: "vh", PeerName: "eth0"}, 0), unix.SizeofIfInfomsg)
	assert.NotContains(t, as, uint16(unix.IFLA_MASTER))
	assert.NotContains(t, as, uint16(unix.IFLA_MTU))
}

func routeReq(t *testing.T, index int, r Route) *nl.NetlinkRequest {
	t.Helper()
	req, err := routeRequest(index, r)
	require.NoError(t, err)
	return req
}
