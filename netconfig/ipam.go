package netconfig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// IPAM hands out IP addresses from named [Pool]s and remembers them in a
// directory, so that several processes sharing the directory never hand
// out the same address: every change runs under an exclusive flock(2) on
// the pool's file, and in-process callers queue on a semaphore first. An
// IPAM is safe for concurrent use. Create one with [NewIPAM].
//
// Addresses are handed out in order, continuing after the last one handed
// out and wrapping around at the end of the subnet, so an address that was
// just released is not reused before the pool has cycled.
//
// Each pool is one JSON file in the directory, POOL.json, holding its
// definition, the last address handed out per subnet and its leases. It is
// rewritten in place with a single write, so the state survives the crash
// of a process; it is not synced, so it may not survive the crash of the
// machine (after a reboot no lease's owner is alive anyway, see
// [IPAM.Reclaim]). Every operation reads and writes the whole file, which
// stays fast up to a few thousand leases per pool.
type IPAM struct {
	dir   string
	alive func(Lease) bool
	now   func() time.Time
}

// IPAMOption configures [NewIPAM].
type IPAMOption func(*IPAM)

// WithOwnerCheck replaces the test [IPAM.Reclaim] uses to decide that a
// lease's owner is gone. The default, [ProcessAlive], checks the process
// that took the lease. A runtime whose leases outlive the allocating
// process would check its own record of the container instead.
func WithOwnerCheck(alive func(Lease) bool) IPAMOption {
	return func(m *IPAM) { m.alive = alive }
}

// NewIPAM returns an IPAM storing its state in dir, creating dir (mode
// 0700) if it does not exist. Everything else happens on demand.
func NewIPAM(dir string, opts ...IPAMOption) (*IPAM, error) {
	if dir == "" {
		return nil, fmt.Errorf("IPAM directory is empty: %w", fs.ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("IPAM directory %q: %w", dir, err)
	}
	m := &IPAM{dir: abs, alive: ProcessAlive, now: time.Now}
	for _, o := range opts {
		o(m)
	}
	if m.alive == nil {
		return nil, fmt.Errorf("IPAM owner check is nil: %w", fs.ErrInvalid)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("creating IPAM directory: %w", err)
	}
	return m, nil
}

// ipamAt returns the IPAM of dir with the default options, without
// creating dir: for the attach path, where a missing directory is just a
// missing pool (fs.ErrNotExist), this saves a system call per attachment.
func ipamAt(dir string) (*IPAM, error) {
	if dir == "" {
		return nil, fmt.Errorf("IPAM directory is empty: %w", fs.ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("IPAM directory %q: %w", dir, err)
	}
	return &IPAM{dir: abs, alive: ProcessAlive, now: time.Now}, nil
}

// Dir returns the IPAM's directory, made absolute.
func (m *IPAM) Dir() string { return m.dir }

// Lease is a set of addresses held by one owner in one pool, one address
// per subnet of the pool.
type Lease struct {
	// Pool is the pool's name.
	Pool string `json:"pool"`
	// Owner identifies the holder, e.g. a container ID.
	Owner string `json:"owner"`
	// Addresses holds one address per subnet of the pool, in the pool's
	// order, with the subnet's length: e.g. 10.88.0.2/16.
	Addresses []netip.Prefix `json:"addresses"`
	// Gateways are the subnets' gateways, in the same order.
	Gateways []netip.Addr `json:"gateways"`
	// PID is the process that took the lease.
	PID int `json:"pid"`
	// PIDStart is that process's start time in clock ticks since boot,
	// zero where unknown; with PID it tells whether the process still runs
	// or its PID was reused.
	PIDStart uint64 `json:"pidStart,omitempty"`
	// Created is when the lease was taken.
	Created time.Time `json:"created"`
}

// ProcessAlive reports whether the process that took l still runs: a
// process with l.PID exists and, where /proc tells, started at l.PIDStart.
// PIDs are those of the IPAM user's PID namespace.
func ProcessAlive(l Lease) bool {
	start, ok := processStart(l.PID)
	return ok && (l.PIDStart == 0 || start == l.PIDStart)
}

// self is this process's PID and start time, read once.
var self = sync.OnceValues(func() (int, uint64) {
	pid := os.Getpid()
	start, _ := processStart(pid)
	return pid, start
})

// poolState is the content of a pool's file.
type poolState struct {
	Pool Pool `json:"pool"`
	// Cursor is the last address handed out, per subnet.
	Cursor map[netip.Prefix]netip.Addr `json:"cursor,omitempty"`
	// Leases are sorted by owner.
	Leases []Lease `json:"leases"`
}

func (st *poolState) lease(owner string) (int, bool) {
	return slices.BinarySearchFunc(st.Leases, owner, func(l Lease, o string) int { return strings.Compare(l.Owner, o) })
}

func (m *IPAM) poolFile(name string) string { return filepath.Join(m.dir, name+".json") }

// withPool runs fn holding the pool's lock, with its state; if fn reports
// a change, the state is written back. A missing pool wraps
// fs.ErrNotExist.
func (m *IPAM) withPool(ctx context.Context, name string, fn func(st *poolState) (bool, error)) error {
	if err := validToken("pool name", name, 64); err != nil {
		return err
	}
	f, unlock, err := lockFile(ctx, m.poolFile(name), os.O_RDWR)
	if err != nil {
		return fmt.Errorf("opening pool %q: %w", name, err)
	}
	defer unlock()
	var st poolState
	// Decode reads one value: bytes after it, left by a process that died
	// between writing a shorter state and truncating, are ignored.
	if err := json.NewDecoder(f).Decode(&st); err != nil {
		return fmt.Errorf("reading pool %q: %w", name, err)
	}
	if err := st.Pool.validate(); err != nil || st.Pool.Name != name {
		return fmt.Errorf("reading pool %q: damaged definition: %w", name, errors.Join(err, fs.ErrInvalid))
	}
	changed, err := fn(&st)
	if changed {
		err = errors.Join(err, writeState(f, &st))
	}
	return err
}

// writeState overwrites f with st in one write, then trims what is left of
// a longer previous state.
func writeState(f *os.File, st *poolState) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if _, err := f.WriteAt(data, 0); err != nil {
		return fmt.Errorf("writing pool %q: %w", st.Pool.Name, err)
	}
	if err := f.Truncate(int64(len(data))); err != nil {
		return fmt.Errorf("writing pool %q: %w", st.Pool.Name, err)
	}
	return nil
}

// CreatePool records pool p. Creating a pool that exists with the same
// definition does nothing; with another definition it wraps fs.ErrExist.
// A subnet overlapping one of another pool in the directory wraps
// [ErrOverlap]; an invalid name or subnet wraps fs.ErrInvalid. It returns
// p with defaults (gateways) filled in.
func (m *IPAM) CreatePool(ctx context.Context, p Pool) (Pool, error) {
	if err := p.validate(); err != nil {
		return Pool{}, fmt.Errorf("creating pool: %w", err)
	}
	_, unlock, err := lockFile(ctx, filepath.Join(m.dir, ".pools.lock"), os.O_RDWR|os.O_CREATE)
	if err != nil {
		return Pool{}, fmt.Errorf("creating pool %q: %w", p.Name, err)
	}
	defer unlock()
	pools, err := m.pools()
	if err != nil {
		return Pool{}, fmt.Errorf("creating pool %q: %w", p.Name, err)
	}
	for _, o := range pools {
		if o.Name == p.Name {
			if !slices.Equal(o.Subnets, p.Subnets) {
				return Pool{}, fmt.Errorf("creating pool %q: exists with subnets %v: %w", p.Name, o.Subnets, fs.ErrExist)
			}
			return o, nil
		}
		if mine, theirs, ok := p.overlaps(o); ok {
			return Pool{}, fmt.Errorf("creating pool %q: subnet %v overlaps %v of pool %q: %w", p.Name, mine, theirs, o.Name, ErrOverlap)
		}
	}
	if err := m.writeNewPool(p); err != nil {
		return Pool{}, fmt.Errorf("creating pool %q: %w", p.Name, err)
	}
	return p, nil
}

// writeNewPool writes the pool's file under a temporary name and renames
// it into place, so that a pool file is always complete.
func (m *IPAM) writeNewPool(p Pool) (retErr error) {
	f, err := os.CreateTemp(m.dir, ".new-"+p.Name+"-")
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, os.Remove(f.Name()))
		}
	}()
	err = writeState(f, &poolState{Pool: p, Leases: []Lease{}})
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	return os.Rename(f.Name(), m.poolFile(p.Name))
}

// Pools lists the pools of the directory, sorted by name.
func (m *IPAM) Pools(ctx context.Context) ([]Pool, error) {
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return m.pools()
}

func (m *IPAM) pools() ([]Pool, error) {
	ents, err := os.ReadDir(m.dir)
	if err != nil {
		return nil, fmt.Errorf("listing pools: %w", err)
	}
	var out []Pool
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() || name == "" || name[0] == '.' {
			continue
		}
		p, err := m.readPool(name)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// readPool reads a pool's definition without locking: it is written once,
// and the file is replaced only by renaming a complete one into place.
func (m *IPAM) readPool(name string) (Pool, error) {
	f, err := os.Open(m.poolFile(name))
	if err != nil {
		return Pool{}, fmt.Errorf("reading pool %q: %w", name, err)
	}
	defer f.Close()
	var st poolState
	if err := json.NewDecoder(io.LimitReader(f, 1<<30)).Decode(&st); err != nil {
		return Pool{}, fmt.Errorf("reading pool %q: %w", name, err)
	}
	return st.Pool, nil
}

// Pool returns the definition of the pool called name; a missing pool
// wraps fs.ErrNotExist.
func (m *IPAM) Pool(ctx context.Context, name string) (Pool, error) {
	if err := validToken("pool name", name, 64); err != nil {
		return Pool{}, err
	}
	if err := context.Cause(ctx); err != nil {
		return Pool{}, err
	}
	return m.readPool(name)
}

// DeletePool removes the pool called name. A pool that still has leases
// is kept and the error wraps syscall.EBUSY; a missing pool wraps
// fs.ErrNotExist.
func (m *IPAM) DeletePool(ctx context.Context, name string) error {
	err := m.withPool(ctx, name, func(st *poolState) (bool, error) {
		if len(st.Leases) > 0 {
			return false, fmt.Errorf("%d leases remain: %w", len(st.Leases), syscall.EBUSY)
		}
		return false, os.Remove(m.poolFile(name))
	})
	if err != nil {
		return fmt.Errorf("deleting pool %q: %w", name, err)
	}
	return nil
}
