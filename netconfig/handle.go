package netconfig

import (
	"fmt"
	"io/fs"
	"time"
)

// Option configures [Open].
type Option func(*handleConfig)

type handleConfig struct {
	timeout time.Duration
}

func (c *handleConfig) validate() error {
	if c.timeout < 0 {
		return fmt.Errorf("netlink socket timeout %v: %w", c.timeout, fs.ErrInvalid)
	}
	return nil
}

// WithSocketTimeout bounds how long one netlink request may wait for the
// kernel's answer (rounded up to the kernel tick). Zero, the default, waits
// without limit, which is safe because the kernel always answers; a
// negative value makes Open fail with fs.ErrInvalid.
func WithSocketTimeout(d time.Duration) Option {
	return func(c *handleConfig) { c.timeout = d }
}
