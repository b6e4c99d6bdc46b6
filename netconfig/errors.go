package netconfig

import "errors"

// ErrOverlap is wrapped by errors about a subnet that overlaps one already
// in use: another IPAM pool's, or an address on another link.
var ErrOverlap = errors.New("subnets overlap")

// ErrExhausted is wrapped by errors about an IPAM pool that has no free
// address left, even after reclaiming the leases of dead processes.
var ErrExhausted = errors.New("address pool exhausted")
