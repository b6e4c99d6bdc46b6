package netconfig

import (
	"fmt"
	"io/fs"
	"math/big"
	"net/netip"
	"slices"
)

// Pool is a named set of subnets that an [IPAM] hands addresses out of. A
// lease takes one address from each subnet, so a pool with an IPv4 and an
// IPv6 subnet is dual stack.
type Pool struct {
	// Name identifies the pool in its IPAM directory: 1 to 64 bytes of
	// letters, digits, '_', '-' and '.', not starting with '.'. Required.
	Name string
	// Subnets are the pool's subnets; at least one, none overlapping any
	// other subnet of any pool in the same directory.
	Subnets []Subnet
}

// Subnet is one subnet of a [Pool].
type Subnet struct {
	// Prefix is the subnet, without host bits: e.g. 10.88.0.0/16. IPv4
	// subnets may be at most /30 and IPv6 ones at most /126, so that at
	// least one address is left to hand out.
	Prefix netip.Prefix
	// Gateway is the subnet's router, reserved and never handed out. The
	// zero Addr means the first address after the subnet's own (10.88.0.1).
	Gateway netip.Addr
}

// reserved reports whether a is never handed out: the subnet's own
// address, its gateway, or (IPv4) its broadcast address.
func (s Subnet) reserved(a netip.Addr) bool {
	return a == s.Prefix.Addr() || a == s.Gateway || a.Is4() && a == lastAddr(s.Prefix)
}

// usable returns how many addresses the subnet can hand out, capped at
// 1<<62 for huge IPv6 subnets.
func (s Subnet) usable() uint64 {
	host := s.Prefix.Addr().BitLen() - s.Prefix.Bits()
	if host >= 62 {
		return 1 << 62
	}
	n := uint64(1)<<host - 2 // the subnet's address and the gateway
	if s.Prefix.Addr().Is4() {
		n-- // broadcast
	}
	return n
}

// next returns the address after a inside the subnet, wrapping around to
// the first one after the subnet's own address.
func (s Subnet) next(a netip.Addr) netip.Addr {
	n := a.Next()
	if !n.IsValid() || !s.Prefix.Contains(n) {
		return s.Prefix.Addr().Next()
	}
	return n
}

// withDefaults returns s with its Gateway filled in.
func (s Subnet) withDefaults() Subnet {
	if !s.Gateway.IsValid() && s.Prefix.IsValid() {
		s.Gateway = s.Prefix.Addr().Next()
	}
	return s
}

func (s Subnet) validate() error {
	p := s.Prefix
	switch {
	case !p.IsValid():
		return fmt.Errorf("subnet %v: invalid prefix: %w", p, fs.ErrInvalid)
	case p.Addr().Is4In6():
		return fmt.Errorf("subnet %v: IPv4-mapped IPv6 prefix: %w", p, fs.ErrInvalid)
	case p.Masked() != p:
		return fmt.Errorf("subnet %v has host bits set (did you mean %v?): %w", p, p.Masked(), fs.ErrInvalid)
	case p.Addr().Is4() && p.Bits() > 30, p.Addr().Is6() && p.Bits() > 126:
		return fmt.Errorf("subnet %v is too small to hand out addresses: %w", p, fs.ErrInvalid)
	case !p.Contains(s.Gateway) || s.Gateway == p.Addr() || p.Addr().Is4() && s.Gateway == lastAddr(p):
		return fmt.Errorf("gateway %v is not a host address of subnet %v: %w", s.Gateway, p, fs.ErrInvalid)
	}
	return nil
}

// validate checks the pool's name and subnets and fills in defaults.
func (p *Pool) validate() error {
	if err := validToken("pool name", p.Name, 64); err != nil {
		return err
	}
	if len(p.Subnets) == 0 {
		return fmt.Errorf("pool %q has no subnet: %w", p.Name, fs.ErrInvalid)
	}
	p.Subnets = slices.Clone(p.Subnets)
	for i := range p.Subnets {
		p.Subnets[i] = p.Subnets[i].withDefaults()
		if err := p.Subnets[i].validate(); err != nil {
			return fmt.Errorf("pool %q: %w", p.Name, err)
		}
		for _, o := range p.Subnets[:i] {
			if o.Prefix.Overlaps(p.Subnets[i].Prefix) {
				return fmt.Errorf("pool %q: subnet %v overlaps %v: %w", p.Name, p.Subnets[i].Prefix, o.Prefix, ErrOverlap)
			}
		}
	}
	return nil
}

// overlaps returns the first pair of overlapping subnets of p and o.
func (p Pool) overlaps(o Pool) (mine, theirs netip.Prefix, ok bool) {
	for _, a := range p.Subnets {
		for _, b := range o.Subnets {
			if a.Prefix.Overlaps(b.Prefix) {
				return a.Prefix, b.Prefix, true
			}
		}
	}
	return netip.Prefix{}, netip.Prefix{}, false
}

// lastAddr returns the last address of p (the IPv4 broadcast address).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	host := len(b)*8 - p.Bits()
	n := new(big.Int).SetBytes(b)
	n.Or(n, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(host)), big.NewInt(1)))
	out := make([]byte, len(b))
	n.FillBytes(out)
	a, _ := netip.AddrFromSlice(out)
	return a
}

// validToken checks a name used as a file name: 1 to max bytes of
// [A-Za-z0-9_.-], not starting with '.'.
func validToken(what, s string, max int) error {
	if s == "" || len(s) > max || s[0] == '.' {
		return fmt.Errorf("%s %q: want 1 to %d letters, digits, '_', '-' or '.', not starting with '.': %w", what, s, max, fs.ErrInvalid)
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%s %q: byte %q not allowed: %w", what, s, c, fs.ErrInvalid)
		}
	}
	return nil
}
