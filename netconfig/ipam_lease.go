package netconfig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
)

// Allocate leases one address from each subnet of the pool called pool to
// owner (1 to 128 bytes of letters, digits, '_', '-' and '.'), recording
// the calling process as the lease's process. It waits for the pool's lock
// until ctx is done.
//
// If a subnet has no free address, the leases of dead owners are reclaimed
// (see [IPAM.Reclaim]) and the allocation is tried again; if that frees
// nothing the error wraps [ErrExhausted]. An owner that holds a lease in
// the pool already wraps fs.ErrExist, a missing pool fs.ErrNotExist.
// Nothing is recorded when Allocate fails.
func (m *IPAM) Allocate(ctx context.Context, pool, owner string) (Lease, error) {
	if err := validToken("lease owner", owner, 128); err != nil {
		return Lease{}, fmt.Errorf("allocating in pool %q: %w", pool, err)
	}
	var l Lease
	err := m.withPool(ctx, pool, func(st *poolState) (bool, error) {
		var err error
		l, err = m.allocate(st, owner)
		if !errors.Is(err, ErrExhausted) {
			return err == nil, err
		}
		if freed := m.reclaim(st); len(freed) == 0 {
			return false, err
		}
		l, err = m.allocate(st, owner)
		return true, err // the reclaim is kept even if allocating fails
	})
	if err != nil {
		return Lease{}, fmt.Errorf("allocating in pool %q for %q: %w", pool, owner, err)
	}
	return l, nil
}

// allocate adds a lease for owner to st.
func (m *IPAM) allocate(st *poolState, owner string) (Lease, error) {
	i, found := st.lease(owner)
	if found {
		return Lease{}, fmt.Errorf("%q already holds a lease: %w", owner, fs.ErrExist)
	}
	used := make(map[netip.Addr]bool, len(st.Leases)*len(st.Pool.Subnets))
	for _, l := range st.Leases {
		for _, a := range l.Addresses {
			used[a.Addr()] = true
		}
	}
	pid, start := self()
	l := Lease{Pool: st.Pool.Name, Owner: owner, PID: pid, PIDStart: start, Created: m.now().UTC()}
	picked := make([]netip.Addr, 0, len(st.Pool.Subnets))
	for _, s := range st.Pool.Subnets {
		a, err := pick(s, used, len(st.Leases), st.Cursor[s.Prefix])
		if err != nil {
			return Lease{}, err
		}
		picked = append(picked, a)
		l.Addresses = append(l.Addresses, netip.PrefixFrom(a, s.Prefix.Bits()))
		l.Gateways = append(l.Gateways, s.Gateway)
	}
	if st.Cursor == nil {
		st.Cursor = map[netip.Prefix]netip.Addr{}
	}
	for j, s := range st.Pool.Subnets {
		st.Cursor[s.Prefix] = picked[j]
	}
	st.Leases = slices.Insert(st.Leases, i, l)
	return l, nil
}

// pick returns the first address of s after last that is neither reserved
// nor used, wrapping around. inUse is how many addresses s has in use.
func pick(s Subnet, used map[netip.Addr]bool, inUse int, last netip.Addr) (netip.Addr, error) {
	if uint64(inUse) >= s.usable() {
		return netip.Addr{}, fmt.Errorf("subnet %v: all %d addresses in use: %w", s.Prefix, s.usable(), ErrExhausted)
	}
	a := last
	if !a.IsValid() || !s.Prefix.Contains(a) {
		a = s.Prefix.Addr()
	}
	// Within inUse+3 steps at most the reserved and the used addresses
	// are skipped.
	for range inUse + 4 {
		a = s.next(a)
		if !s.reserved(a) && !used[a] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %v: no free address found: %w", s.Prefix, ErrExhausted)
}

// Release gives up owner's lease in pool. A lease that does not exist
// wraps fs.ErrNotExist.
func (m *IPAM) Release(ctx context.Context, pool, owner string) error {
	err := m.withPool(ctx, pool, func(st *poolState) (bool, error) {
		i, found := st.lease(owner)
		if !found {
			return false, fmt.Errorf("no lease held: %w", fs.ErrNotExist)
		}
		st.Leases = slices.Delete(st.Leases, i, i+1)
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("releasing lease of %q in pool %q: %w", owner, pool, err)
	}
	return nil
}

// Leases lists the pool's leases, sorted by owner.
func (m *IPAM) Leases(ctx context.Context, pool string) ([]Lease, error) {
	var out []Lease
	err := m.withPool(ctx, pool, func(st *poolState) (bool, error) {
		out = st.Leases
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing leases of pool %q: %w", pool, err)
	}
	return out, nil
}

// Reclaim releases the leases in pool whose owner is gone, as the owner
// check decides ([ProcessAlive] by default), and returns them.
func (m *IPAM) Reclaim(ctx context.Context, pool string) ([]Lease, error) {
	var out []Lease
	err := m.withPool(ctx, pool, func(st *poolState) (bool, error) {
		out = m.reclaim(st)
		return len(out) > 0, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reclaiming leases of pool %q: %w", pool, err)
	}
	return out, nil
}

func (m *IPAM) reclaim(st *poolState) []Lease {
	var freed []Lease
	st.Leases = slices.DeleteFunc(st.Leases, func(l Lease) bool {
		if m.alive(l) {
			return false
		}
		freed = append(freed, l)
		return true
	})
	return freed
}
