package netconfig

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
)

var errDumpInterrupted = netlink.ErrDumpInterrupted

func TestRetryDump(t *testing.T) {
	calls := 0
	v, err := retryDump(func() (int, error) {
		calls++
		if calls < 3 {
			return 0, errDumpInterrupted
		}
		return 42, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 42, v)
	assert.Equal(t, 3, calls, "interrupted dumps are repeated")

	calls = 0
	_, err = retryDump(func() (int, error) { calls++; return 0, errDumpInterrupted })
	assert.ErrorIs(t, err, errDumpInterrupted)
	assert.Equal(t, maxDumpRetries+1, calls, "but not forever")

	calls = 0
	other := errors.New("other")
	_, err = retryDump(func() (int, error) { calls++; return 0, other })
	assert.ErrorIs(t, err, other)
	assert.Equal(t, 1, calls, "other errors are not retried")
}
