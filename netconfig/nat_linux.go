package netconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// natTable is the nftables table (one per family) that holds Berth's DNAT
// and masquerade rules; nothing else in the ruleset is touched.
const natTable = "berth"

// natFamily holds what differs between the IPv4 and IPv6 rules.
type natFamily struct {
	table    *nftables.Table
	nfproto  uint32
	saddrOff uint32 // offsets of the addresses in the network header
	daddrOff uint32
	addrLen  uint32
}

func familyOf(a netip.Addr) natFamily {
	if a.Is4() {
		return natFamily{&nftables.Table{Name: natTable, Family: nftables.TableFamilyIPv4}, unix.NFPROTO_IPV4, 12, 16, 4}
	}
	return natFamily{&nftables.Table{Name: natTable, Family: nftables.TableFamilyIPv6}, unix.NFPROTO_IPV6, 8, 24, 16}
}

func (f natFamily) chain(name string) *nftables.Chain {
	hooks := map[string]*nftables.ChainHook{
		"prerouting": nftables.ChainHookPrerouting, "output": nftables.ChainHookOutput,
		"postrouting": nftables.ChainHookPostrouting,
	}
	prio := nftables.ChainPriorityNATDest
	if name == "postrouting" {
		prio = nftables.ChainPriorityNATSource
	}
	return &nftables.Chain{Name: name, Table: f.table, Type: nftables.ChainTypeNAT, Hooknum: hooks[name], Priority: prio}
}

// ensure queues the creation of the family's table and chains; both are
// idempotent in nftables.
func (f natFamily) ensure(c *nftables.Conn) {
	c.AddTable(f.table)
	for _, name := range []string{"prerouting", "output", "postrouting"} {
		c.AddChain(f.chain(name))
	}
}

// openNFT opens an nftables connection in namespace ns (nil: the current
// one). A lasting connection keeps one socket until CloseLasting; any other
// opens a socket per operation.
func openNFT(ns *os.File, lasting bool) (*nftables.Conn, error) {
	var opts []nftables.ConnOption
	if ns != nil {
		opts = append(opts, nftables.WithNetNSFd(int(ns.Fd())))
	}
	if lasting {
		opts = append(opts, nftables.AsLasting())
	}
	return nftables.New(opts...)
}

func comment(tag string) []byte { return userdata.AppendString(nil, userdata.TypeComment, tag) }

func ruleTag(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
}

// dnatRules returns the prerouting and output rules that forward p (with
// its HostPort resolved) to target.
func dnatRules(p Port, target netip.AddrPort, tag string) []*nftables.Rule {
	f := familyOf(target.Addr())
	proto := byte(unix.IPPROTO_TCP)
	if p.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	match := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
	}
	if p.HostIP.IsUnspecified() {
		// fib daddr type local: any address of the host namespace ...
		match = append(match,
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)})
	} else {
		match = append(match,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: f.daddrOff, Len: f.addrLen},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.HostIP.AsSlice()})
	}
	dnat := []expr.Any{
		&expr.Immediate{Register: 1, Data: target.Addr().AsSlice()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(target.Port())},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: f.nfproto, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
	// ... but not loopback in output: DNAT of 127.0.0.1 would need
	// route_localnet, a host-wide change.
	notLoopback := notLoopbackExprs(f)
	pre := &nftables.Rule{Table: f.table, Chain: f.chain("prerouting"), UserData: comment(tag),
		Exprs: append(append([]expr.Any{}, match...), dnat...)}
	out := &nftables.Rule{Table: f.table, Chain: f.chain("output"), UserData: comment(tag),
		Exprs: append(append(append([]expr.Any{}, match...), notLoopback...), dnat...)}
	return []*nftables.Rule{pre, out}
}

func notLoopbackExprs(f natFamily) []expr.Any {
	load := &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: f.daddrOff, Len: f.addrLen}
	if f.addrLen == 4 {
		return []expr.Any{load,
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: []byte{255, 0, 0, 0}, Xor: []byte{0, 0, 0, 0}},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{127, 0, 0, 0}}}
	}
	return []expr.Any{load, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: netip.IPv6Loopback().AsSlice()}}
}

// addRules adds the rules in one nftables transaction: either all apply
// or none. If a table or chain is missing, it is created in the same
// transaction; re-creating existing base chains is avoided because it
// costs a few RCU grace periods (about 10 ms here).
func addRules(ns *os.File, rules []*nftables.Rule) error {
	if len(rules) == 0 {
		return nil
	}
	err := flushRules(ns, rules, false)
	if errors.Is(err, unix.ENOENT) {
		err = flushRules(ns, rules, true)
	}
	return err
}

func flushRules(ns *os.File, rules []*nftables.Rule, ensure bool) error {
	c, err := openNFT(ns, false)
	if err != nil {
		return err
	}
	seen := map[nftables.TableFamily]bool{}
	for _, r := range rules {
		if ensure && !seen[r.Table.Family] {
			seen[r.Table.Family] = true
			natFamily{table: r.Table}.ensure(c)
		}
		c.AddRule(r)
	}
	return c.Flush()
}

// delRules deletes the rules in the given chains of Berth's tables whose
// comment is tag, in one transaction. Missing tables and chains are no
// error.
func delRules(ns *os.File, tag string, chains []*nftables.Chain) error {
	c, err := openNFT(ns, true)
	if err != nil {
		return err
	}
	return errors.Join(delRulesOn(c, tag, chains), c.CloseLasting())
}

// delRulesOn is delRules on connection c.
func delRulesOn(c *nftables.Conn, tag string, chains []*nftables.Chain) error {
	n := 0
	for _, ch := range chains {
		rules, err := c.GetRules(ch.Table, ch)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("listing nftables chain %s %s: %w", natTable, ch.Name, err)
		}
		for _, r := range rules {
			if ruleTag(r) == tag {
				if err := c.DelRule(r); err != nil {
					return err
				}
				n++
			}
		}
	}
	if n == 0 {
		return nil
	}
	return c.Flush()
}

// portChains returns the chains that hold the DNAT rules of ports.
func portChains(ports []Port) []*nftables.Chain {
	var out []*nftables.Chain
	seen := map[bool]bool{}
	for _, p := range ports {
		v4 := !p.HostIP.IsValid() || p.HostIP.Is4()
		if seen[v4] {
			continue
		}
		seen[v4] = true
		f := familyOf(netip.IPv4Unspecified())
		if !v4 {
			f = familyOf(netip.IPv6Unspecified())
		}
		out = append(out, f.chain("prerouting"), f.chain("output"))
	}
	return out
}

// EnableForwarding turns on IPv4 and IPv6 forwarding in the Handle's
// namespace, which routing between a bridge and other interfaces needs
// (published ports with [PortNAT], outbound NAT). It changes a setting of
// the whole namespace: call it only on a host that you configure, never
// behind its administrator's back.
//
// Equivalent to: `sysctl -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1`
func (h *Handle) EnableForwarding() error {
	if err := h.usable(); err != nil {
		return err
	}
	return inNS(h.ns, func() error {
		for _, p := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
			if err := os.WriteFile(p, []byte("1\n"), 0); err != nil && !(errors.Is(err, fs.ErrNotExist) && p != "/proc/sys/net/ipv4/ip_forward") {
				return fmt.Errorf("enabling forwarding: %w", err)
			}
		}
		return nil
	})
}

// AddMasquerade rewrites the source of packets from subnet src that leave
// through any interface other than except to that interface's address
// (outbound NAT), so that containers on a private subnet reach other
// networks. except is usually the containers' bridge, whose traffic stays
// untranslated. Adding a rule that exists replaces it. It needs forwarding
// (see [Handle.EnableForwarding]) and nf_tables in the kernel; errors wrap
// fs.ErrInvalid for a bad subnet or name.
//
// Equivalent to: `nft add rule ip berth postrouting ip saddr SRC oifname != EXCEPT masquerade`
func (h *Handle) AddMasquerade(src netip.Prefix, except string) error {
	if err := h.usable(); err != nil {
		return err
	}
	if !src.IsValid() || src.Addr().Is4In6() {
		return fmt.Errorf("adding masquerade for %v: %w", src, fs.ErrInvalid)
	}
	if err := validName(except); err != nil {
		return fmt.Errorf("adding masquerade for %v: %w", src, err)
	}
	src = src.Masked()
	tag := "berth-masq:" + src.String() + ":" + except
	f := familyOf(src.Addr())
	if err := delRules(h.ns, tag, []*nftables.Chain{f.chain("postrouting")}); err != nil {
		return fmt.Errorf("adding masquerade for %v: %w", src, err)
	}
	name := make([]byte, 16)
	copy(name, except)
	r := &nftables.Rule{Table: f.table, Chain: f.chain("postrouting"), UserData: comment(tag), Exprs: []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: f.saddrOff, Len: f.addrLen},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: f.addrLen,
			Mask: prefixMask(src), Xor: make([]byte, f.addrLen)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: src.Addr().AsSlice()},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: name},
		&expr.Masq{},
	}}
	if err := addRules(h.ns, []*nftables.Rule{r}); err != nil {
		return fmt.Errorf("adding masquerade for %v: %w", src, err)
	}
	return nil
}

// DelMasquerade removes the rule AddMasquerade(src, except) added. A rule
// that does not exist is no error.
func (h *Handle) DelMasquerade(src netip.Prefix, except string) error {
	if err := h.usable(); err != nil {
		return err
	}
	f := familyOf(src.Addr())
	if err := delRules(h.ns, "berth-masq:"+src.Masked().String()+":"+except, []*nftables.Chain{f.chain("postrouting")}); err != nil {
		return fmt.Errorf("deleting masquerade for %v: %w", src, err)
	}
	return nil
}

func prefixMask(p netip.Prefix) []byte {
	n := p.Addr().BitLen() / 8
	m := make([]byte, n)
	for i := range p.Bits() {
		m[i/8] |= 0x80 >> (i % 8)
	}
	return m
}
