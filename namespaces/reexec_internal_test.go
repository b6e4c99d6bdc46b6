package namespaces

import (
	"context"
	"errors"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestArg0RoundTrip(t *testing.T) {
	tests := []struct {
		name, arg0 string
	}{
		{"berth-init", "berth-init"},
		{"berth-init-monitor", "berth-init-monitor"},
		{"monitor", "berth-init:monitor"},
		{"x", "berth-init:x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.arg0, arg0(tt.name))
			got, ok := entrypointName(tt.arg0)
			assert.True(t, ok)
			assert.Equal(t, tt.name, got)
		})
	}
	for _, a0 := range []string{"", "go", "namespaces.test", "berth", "xberth-init"} {
		_, ok := entrypointName(a0)
		assert.False(t, ok, a0)
	}
}

func TestValidateName(t *testing.T) {
	for _, bad := range []string{"", "a/b", "a:b", "a b", "a\x00b", "\t"} {
		assert.Error(t, validateName(bad), "%q", bad)
	}
	for _, good := range []string{"berth-init", "monitor", "a.b_c-1"} {
		assert.NoError(t, validateName(good), "%q", good)
	}
}

// TestCommandNotDispatched pretends Dispatch never ran. It must not run in
// parallel with tests that call Command.
func TestCommandNotDispatched(t *testing.T) {
	was := dispatched.Swap(false)
	t.Cleanup(func() { dispatched.Store(was) })
	cmd, err := Command(t.Context(), "anything", 0)
	require.ErrorIs(t, err, ErrNotDispatched)
	assert.Nil(t, cmd)
}

func TestCommandErrors(t *testing.T) {
	Register("internal-noop", func(context.Context) error { return nil })
	_, err := Command(t.Context(), "not-registered-anywhere", 0)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = Command(t.Context(), "internal-noop", Net|Time)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = Command(t.Context(), "internal-noop", Kind(1))
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestRegisterPanics(t *testing.T) {
	noop := func(context.Context) error { return nil }
	Register("internal-dup", noop)
	assert.Panics(t, func() { Register("internal-dup", noop) })
	assert.Panics(t, func() { Register("bad/name", noop) })
	assert.Panics(t, func() { Register("internal-nil", nil) })
}
