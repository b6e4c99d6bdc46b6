package netconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// This file builds, with vishvananda/netlink's nl types, the requests the
// attach path sends through an [rtConn], and reads the link messages the
// kernel sends back.

// rtextFilterSkipStats is RTEXT_FILTER_SKIP_STATS (linux/rtnetlink.h): a
// link reply without the counters, which the kernel would otherwise sum
// over every CPU.
const rtextFilterSkipStats = 1 << 3

// linkInfo is what the attach path needs to know about a link.
type linkInfo struct {
	index, mtu int
	up         bool
	mac        net.HardwareAddr
	// peer is a veth's IFLA_LINK: its peer's index, in the peer's
	// namespace.
	peer int
}

// do1 sends one request and returns its replies, or the kernel's error.
func (c *rtConn) do1(req *nl.NetlinkRequest) ([]syscall.NetlinkMessage, error) {
	rs, err := c.do(req)
	if err != nil {
		return nil, err
	}
	return rs[0].msgs, rs[0].err
}

// link looks a link up by name. An unknown name wraps fs.ErrNotExist and
// unix.ENODEV.
func (c *rtConn) link(name string) (linkInfo, error) {
	msgs, err := c.do1(getLinkRequest(name))
	if err != nil {
		return linkInfo{}, linkErr(err)
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWLINK {
			return parseLink(m.Data)
		}
	}
	return linkInfo{}, fmt.Errorf("no link in the kernel's reply: %w", unix.EBADMSG)
}

// indexMTU returns the index and MTU of the link called name with two
// ioctls on c's socket, which the kernel answers for the socket's
// namespace without taking the RTNL lock: unlike a GETLINK request, this
// neither waits for other configuration nor flushes the link's pending
// carrier events (a bridge's, after its last port left, cost an RCU grace
// period). An unknown name wraps fs.ErrNotExist and unix.ENODEV.
//
// Equivalent to: if_nametoindex(3), then SIOCGIFMTU
func (c *rtConn) indexMTU(name string) (index, mtu int, err error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, 0, fmt.Errorf("link %q: %w", name, errors.Join(err, fs.ErrInvalid))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, req := range []uint{unix.SIOCGIFINDEX, unix.SIOCGIFMTU} {
		if c.fd < 0 {
			return 0, 0, fmt.Errorf("netlink socket: %w", fs.ErrClosed)
		}
		if err := unix.IoctlIfreq(c.fd, req, ifr); err != nil {
			return 0, 0, fmt.Errorf("link %q: %w", name, linkErr(err))
		}
		if req == unix.SIOCGIFINDEX {
			index = int(ifr.Uint32())
		} else {
			mtu = int(ifr.Uint32())
		}
	}
	return index, mtu, nil
}

// getLinkRequest asks for the link called name, without its counters.
func getLinkRequest(name string) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, 0)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(rtextFilterSkipStats)))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	return req
}

// parseLink reads a struct ifinfomsg and the attributes linkInfo holds.
func parseLink(b []byte) (linkInfo, error) {
	if len(b) < unix.SizeofIfInfomsg {
		return linkInfo{}, fmt.Errorf("short link message: %w", unix.EBADMSG)
	}
	msg := nl.DeserializeIfInfomsg(b)
	l := linkInfo{index: int(msg.Index), up: msg.Flags&unix.IFF_UP != 0}
	attrs, err := nl.ParseRouteAttr(b[unix.SizeofIfInfomsg:])
	if err != nil {
		return linkInfo{}, fmt.Errorf("parsing link message: %w", err)
	}
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFLA_MTU:
			l.mtu = int(nl.NativeEndian().Uint32(a.Value))
		case unix.IFLA_ADDRESS:
			l.mac = net.HardwareAddr(a.Value)
		case unix.IFLA_LINK:
			l.peer = int(nl.NativeEndian().Uint32(a.Value))
		}
	}
	return l, nil
}

// vethQueues is the number of transmit and receive queues of each veth
// end: the one queue the kernel leaves in use by default. Asking for it at
// creation spares the kernel shrinking the queues of a registered device,
// which waits for an RCU grace period per end.
const vethQueues = 1

// vethRequest creates the pair v in one message: both ends' names, MTU,
// addresses and queues, the Name end's up state, the peer's namespace, and
// the master (index, zero for none), which the kernel enslaves before it
// answers.
// With NLM_F_ECHO the kernel sends the new Name end back, whose IFLA_LINK
// is the peer's index.
func vethRequest(v Veth, master int) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ECHO)
	req.AddData(upMsg(0, v.Up))
	addLinkAttrs(req.AddData, v.Name, v.MTU, v.MAC)
	if master != 0 {
		req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(master))))
	}
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("veth"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	peer := data.AddRtAttr(nl.VETH_INFO_PEER, nl.NewIfInfomsg(unix.AF_UNSPEC).Serialize())
	addLinkAttrs(func(a nl.NetlinkRequestData) { peer.AddChild(a) }, v.PeerName, v.MTU, v.PeerMAC)
	if v.PeerNS != nil {
		peer.AddRtAttr(unix.IFLA_NET_NS_FD, nl.Uint32Attr(uint32(v.PeerNS.Fd())))
	}
	req.AddData(info)
	return req
}

func addLinkAttrs(add func(nl.NetlinkRequestData), name string, mtu int, mac net.HardwareAddr) {
	add(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	if mtu > 0 {
		add(nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(mtu))))
	}
	if mac != nil {
		add(nl.NewRtAttr(unix.IFLA_ADDRESS, mac))
	}
	add(nl.NewRtAttr(unix.IFLA_NUM_TX_QUEUES, nl.Uint32Attr(vethQueues)))
	add(nl.NewRtAttr(unix.IFLA_NUM_RX_QUEUES, nl.Uint32Attr(vethQueues)))
}

// upMsg is a struct ifinfomsg for link index that sets IFF_UP if up, and
// leaves the flags alone otherwise.
func upMsg(index int, up bool) *nl.IfInfomsg {
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	if up {
		msg.Flags, msg.Change = unix.IFF_UP, unix.IFF_UP
	}
	return msg
}

// addVeth creates the pair v (names already checked) in one request and
// returns its Name end. peer is the peer's index where the kernel tells
// it (NLM_F_ECHO, Linux 6.3 and later), else zero.
func (c *rtConn) addVeth(v Veth, master int) (l linkInfo, err error) {
	msgs, err := c.do1(vethRequest(v, master))
	if err != nil {
		return linkInfo{}, err
	}
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWLINK {
			return parseLink(m.Data)
		}
	}
	// No echo from this kernel: ask.
	return c.link(v.Name)
}

// setUpRequest brings the link with index up.
func setUpRequest(index int) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, 0)
	req.AddData(upMsg(index, true))
	return req
}

// delLinkRequest deletes the link called name.
func delLinkRequest(name string) *nl.NetlinkRequest {
	req := nl.NewNetlinkRequest(unix.RTM_DELLINK, 0)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	return req
}

// addrRequest adds p to the link with index, as [Handle.AddAddr] does:
// IPv4 with the subnet's broadcast address, IPv6 without duplicate
// address detection.
func addrRequest(index int, p netip.Prefix) *nl.NetlinkRequest {
	a := p.Addr().Unmap()
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
	}
	req := nl.NewNetlinkRequest(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	msg := nl.NewIfAddrmsg(family(a))
	msg.Index = uint32(index)
	msg.Prefixlen = uint8(bits)
	if a.Is6() {
		msg.Flags = unix.IFA_F_NODAD
	}
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, a.AsSlice()))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, a.AsSlice()))
	if a.Is4() && bits < 31 {
		bcast := netip.PrefixFrom(a, bits).Masked().Addr().As4()
		for i := range bcast {
			bcast[i] |= byte(0xff) >> max(0, min(8, bits-8*i))
		}
		req.AddData(nl.NewRtAttr(unix.IFA_BROADCAST, bcast[:]))
	}
	return req
}

// routeRequest adds r through the link with index (zero: none) to the
// main table, as [Handle.AddRoute] does.
func routeRequest(index int, r Route) (*nl.NetlinkRequest, error) {
	dst, ok := r.dst()
	if !ok {
		return nil, fmt.Errorf("route without destination or next hop: %w", fs.ErrInvalid)
	}
	if r.Via.IsValid() && r.Via.Is4() != dst.Addr().Is4() {
		return nil, fmt.Errorf("next hop %v and destination %v differ in family: %w", r.Via, dst, fs.ErrInvalid)
	}
	dst = netip.PrefixFrom(dst.Addr().Unmap(), dst.Bits()-96*btoi(dst.Addr().Is4In6()))
	req := nl.NewNetlinkRequest(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	msg := nl.NewRtMsg()
	msg.Family = uint8(family(dst.Addr()))
	msg.Dst_len = uint8(dst.Bits())
	if !r.Via.IsValid() {
		msg.Scope = unix.RT_SCOPE_LINK
	}
	req.AddData(msg)
	if dst.Bits() > 0 {
		req.AddData(nl.NewRtAttr(unix.RTA_DST, dst.Masked().Addr().AsSlice()))
	}
	if r.Via.IsValid() {
		req.AddData(nl.NewRtAttr(unix.RTA_GATEWAY, r.Via.Unmap().AsSlice()))
	}
	if r.Src.IsValid() {
		req.AddData(nl.NewRtAttr(unix.RTA_PREFSRC, r.Src.Unmap().AsSlice()))
	}
	if r.Metric != 0 {
		req.AddData(nl.NewRtAttr(unix.RTA_PRIORITY, nl.Uint32Attr(uint32(r.Metric))))
	}
	if index != 0 {
		req.AddData(nl.NewRtAttr(unix.RTA_OIF, nl.Uint32Attr(uint32(index))))
	}
	return req, nil
}

func family(a netip.Addr) int {
	if a.Unmap().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
