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
	"syscall"
	"time"
)

// IPAM hands out IP addresses from named [Pool]s and remembers them in a
// directory, so that several processes sharing the directory never hand
// out the same address: every change runs under an exclusive flock(2) on
// the pool, and in-process callers queue on a semaphore first. An IPAM is
// safe for concurrent use. Create one with [NewIPAM].
//
// Addresses are handed out in order, continuing after the last one handed
// out and wrapping around at the end of the subnet, so an address that was
// just released is not reused before the pool has cycled.
//
// The directory holds one subdirectory per pool: pool.json (its
// definition), cursor.json (the last address per subnet), leases/OWNER.json
// (one file per lease) and addrs/ADDRESS (one marker per address in use,
// containing the owner). Files are replaced atomically, but not synced: the
// state survives the crash of a process, not necessarily of the machine
// (after a reboot no lease's owner is alive anyway, see [IPAM.Reclaim]).
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
	if err := os.MkdirAll(filepath.Join(abs, ".locks"), 0o700); err != nil {
		return nil, fmt.Errorf("creating IPAM directory: %w", err)
	}
	return m, nil
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
	// PID is the process that took the lease and PIDStart its start time
	// in clock ticks since boot (zero where unknown): together they tell
	// whether the process is still alive.
	PID      int    `json:"pid"`
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

func (m *IPAM) poolDir(name string) string { return filepath.Join(m.dir, name) }

// lockPath is the lock file of a pool, or of the pool list (".pools").
func (m *IPAM) lockPath(name string) string { return filepath.Join(m.dir, ".locks", name) }

// withPool runs fn holding the pool's lock, after loading its definition.
// A missing pool wraps fs.ErrNotExist.
func (m *IPAM) withPool(ctx context.Context, name string, fn func(Pool) error) error {
	if err := validToken("pool name", name, 64); err != nil {
		return err
	}
	unlock, err := lockFile(ctx, m.lockPath(name))
	if err != nil {
		return fmt.Errorf("locking pool %q: %w", name, err)
	}
	defer unlock()
	p, err := m.readPool(name)
	if err != nil {
		return err
	}
	return fn(p)
}

func (m *IPAM) readPool(name string) (Pool, error) {
	var p Pool
	data, err := os.ReadFile(filepath.Join(m.poolDir(name), "pool.json"))
	if err != nil {
		return p, fmt.Errorf("reading pool %q: %w", name, err)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return p, fmt.Errorf("reading pool %q: %w", name, err)
	}
	return p, nil
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
	unlock, err := lockFile(ctx, m.lockPath(".pools"))
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
	if err := m.writePoolDir(p); err != nil {
		return Pool{}, fmt.Errorf("creating pool %q: %w", p.Name, err)
	}
	return p, nil
}

// writePoolDir builds the pool's directory under a temporary name and
// renames it into place, so that a pool directory is always complete.
func (m *IPAM) writePoolDir(p Pool) (retErr error) {
	tmp, err := os.MkdirTemp(m.dir, ".new-"+p.Name+"-")
	if err != nil {
		return err
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, os.RemoveAll(tmp))
		}
	}()
	for _, sub := range []string{"leases", "addrs"} {
		if err := os.Mkdir(filepath.Join(tmp, sub), 0o700); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(tmp, "pool.json"), p); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o700); err != nil {
		return err
	}
	return os.Rename(tmp, m.poolDir(p.Name))
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
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		p, err := m.readPool(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
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
	unlock, err := lockFile(ctx, m.lockPath(".pools"))
	if err != nil {
		return fmt.Errorf("deleting pool %q: %w", name, err)
	}
	defer unlock()
	return m.withPool(ctx, name, func(p Pool) error {
		ents, err := os.ReadDir(filepath.Join(m.poolDir(name), "leases"))
		if err != nil {
			return fmt.Errorf("deleting pool %q: %w", name, err)
		}
		if len(ents) > 0 {
			return fmt.Errorf("deleting pool %q: %d leases remain: %w", name, len(ents), syscall.EBUSY)
		}
		if err := os.RemoveAll(m.poolDir(name)); err != nil {
			return fmt.Errorf("deleting pool %q: %w", name, err)
		}
		return nil
	})
}

// writeJSON writes v to path atomically: to a temporary file in the same
// directory, then renamed over path.
func writeJSON(path string, v any) (retErr error) {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	return nil
}
