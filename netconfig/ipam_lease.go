package netconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	err := m.withPool(ctx, pool, func(p Pool) error {
		var err error
		l, err = m.allocate(p, owner)
		if errors.Is(err, ErrExhausted) {
			freed, rerr := m.reclaim(p)
			if rerr != nil {
				return errors.Join(err, rerr)
			}
			if len(freed) > 0 {
				l, err = m.allocate(p, owner)
			}
		}
		return err
	})
	if err != nil {
		return Lease{}, fmt.Errorf("allocating in pool %q for %q: %w", pool, owner, err)
	}
	return l, nil
}

// cursor is the last address handed out per subnet, keyed by subnet.
type cursor map[string]netip.Addr

func (m *IPAM) allocate(p Pool, owner string) (_ Lease, retErr error) {
	dir := m.poolDir(p.Name)
	leasePath := filepath.Join(dir, "leases", owner+".json")
	if _, err := os.Lstat(leasePath); err == nil {
		return Lease{}, fmt.Errorf("%q already holds a lease: %w", owner, fs.ErrExist)
	}
	used, err := readNames(filepath.Join(dir, "addrs"))
	if err != nil {
		return Lease{}, err
	}
	cur := cursor{}
	if data, err := os.ReadFile(filepath.Join(dir, "cursor.json")); err == nil {
		_ = json.Unmarshal(data, &cur) // a damaged cursor only restarts the order
	}
	l := Lease{Pool: p.Name, Owner: owner, PID: os.Getpid(), Created: m.now().UTC()}
	l.PIDStart, _ = processStart(l.PID)
	for _, s := range p.Subnets {
		a, err := pick(s, used, cur[s.Prefix.String()])
		if err != nil {
			return Lease{}, err
		}
		cur[s.Prefix.String()] = a
		l.Addresses = append(l.Addresses, netip.PrefixFrom(a, s.Prefix.Bits()))
		l.Gateways = append(l.Gateways, s.Gateway)
	}
	if err := writeJSON(leasePath, l); err != nil {
		return Lease{}, err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, m.removeLease(l))
		}
	}()
	for _, a := range l.Addresses {
		if err := writeMarker(filepath.Join(dir, "addrs", addrFile(a.Addr())), owner); err != nil {
			return Lease{}, err
		}
	}
	if err := writeJSON(filepath.Join(dir, "cursor.json"), cur); err != nil {
		return Lease{}, err
	}
	return l, nil
}

// pick returns the first free address of s after last, wrapping around.
func pick(s Subnet, used map[string]bool, last netip.Addr) (netip.Addr, error) {
	inUse := 0
	for name := range used {
		if a, err := netip.ParseAddr(fileAddr(name)); err == nil && s.Prefix.Contains(a) {
			inUse++
		}
	}
	if uint64(inUse) >= s.usable() {
		return netip.Addr{}, fmt.Errorf("subnet %v: all %d addresses in use: %w", s.Prefix, s.usable(), ErrExhausted)
	}
	a := last
	if !a.IsValid() || !s.Prefix.Contains(a) {
		a = s.Prefix.Addr()
	}
	// At most inUse+3 steps: reserved addresses and used ones are skipped.
	for range inUse + 4 {
		a = s.next(a)
		if !s.reserved(a) && !used[addrFile(a)] {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("subnet %v: no free address found: %w", s.Prefix, ErrExhausted)
}

// Release gives up owner's lease in pool. A lease that does not exist
// wraps fs.ErrNotExist.
func (m *IPAM) Release(ctx context.Context, pool, owner string) error {
	if err := validToken("lease owner", owner, 128); err != nil {
		return fmt.Errorf("releasing in pool %q: %w", pool, err)
	}
	err := m.withPool(ctx, pool, func(p Pool) error {
		l, err := m.readLease(filepath.Join(m.poolDir(pool), "leases", owner+".json"))
		if err != nil {
			return err
		}
		return m.removeLease(l)
	})
	if err != nil {
		return fmt.Errorf("releasing lease of %q in pool %q: %w", owner, pool, err)
	}
	return nil
}

// Leases lists the pool's leases, sorted by owner.
func (m *IPAM) Leases(ctx context.Context, pool string) ([]Lease, error) {
	var out []Lease
	err := m.withPool(ctx, pool, func(p Pool) error {
		var err error
		out, err = m.leases(p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing leases of pool %q: %w", pool, err)
	}
	return out, nil
}

// Reclaim releases the leases in pool whose owner is gone, as the owner
// check decides ([ProcessAlive] by default), and address markers that no
// lease accounts for (left by a process killed while allocating). It
// returns the leases it released.
func (m *IPAM) Reclaim(ctx context.Context, pool string) ([]Lease, error) {
	var out []Lease
	err := m.withPool(ctx, pool, func(p Pool) error {
		var err error
		out, err = m.reclaim(p)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("reclaiming leases of pool %q: %w", pool, err)
	}
	return out, nil
}

func (m *IPAM) reclaim(p Pool) ([]Lease, error) {
	dir := m.poolDir(p.Name)
	names, err := readNames(filepath.Join(dir, "leases"))
	if err != nil {
		return nil, err
	}
	var freed []Lease
	var errs []error
	for name := range names {
		if !strings.HasSuffix(name, ".json") {
			// A temporary file of a writer that died: nobody else writes
			// while the lock is held.
			if err := os.Remove(filepath.Join(dir, "leases", name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		l, err := m.readLease(filepath.Join(dir, "leases", name))
		if err != nil {
			// Unreadable: the writer died mid-write. Its markers name it.
			l = Lease{Pool: p.Name, Owner: strings.TrimSuffix(name, ".json")}
		} else if m.alive(l) {
			continue
		}
		if err := m.removeLease(l); err != nil {
			errs = append(errs, err)
			continue
		}
		freed = append(freed, l)
	}
	return freed, errors.Join(append(errs, m.removeOrphanMarkers(dir))...)
}

// removeOrphanMarkers removes address markers whose owner has no lease.
func (m *IPAM) removeOrphanMarkers(dir string) error {
	markers, err := readNames(filepath.Join(dir, "addrs"))
	if err != nil {
		return err
	}
	var errs []error
	for name := range markers {
		path := filepath.Join(dir, "addrs", name)
		owner, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if _, err := os.Lstat(filepath.Join(dir, "leases", string(owner)+".json")); errors.Is(err, fs.ErrNotExist) || len(owner) == 0 {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (m *IPAM) leases(p Pool) ([]Lease, error) {
	dir := filepath.Join(m.poolDir(p.Name), "leases")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Lease
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		l, err := m.readLease(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b Lease) int { return strings.Compare(a.Owner, b.Owner) })
	return out, nil
}

func (m *IPAM) readLease(path string) (Lease, error) {
	var l Lease
	data, err := os.ReadFile(path)
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return l, fmt.Errorf("reading lease %s: %w", path, err)
	}
	return l, nil
}

// removeLease removes the markers of l's addresses that name l's owner,
// then the lease file.
func (m *IPAM) removeLease(l Lease) error {
	dir := m.poolDir(l.Pool)
	var errs []error
	for _, a := range l.Addresses {
		path := filepath.Join(dir, "addrs", addrFile(a.Addr()))
		if owner, err := os.ReadFile(path); err == nil && string(owner) == l.Owner {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	err := os.Remove(filepath.Join(dir, "leases", l.Owner+".json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// writeMarker creates the marker file of an address, failing with
// fs.ErrExist if it exists.
func writeMarker(path, owner string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(owner)
	return errors.Join(err, f.Close())
}

// readNames returns the names in dir as a set.
func readNames(dir string) (map[string]bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set, nil
}

// addrFile names an address's marker file: the address, with ':' replaced
// by '_' so that the name is portable.
func addrFile(a netip.Addr) string { return strings.ReplaceAll(a.String(), ":", "_") }

func fileAddr(name string) string { return strings.ReplaceAll(name, "_", ":") }
