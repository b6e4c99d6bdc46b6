package caps

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, n := range []string{"CAP_NET_ADMIN", "net_admin", "Cap_Net_Admin", " NET_ADMIN "} {
		i, err := Parse(n)
		require.NoError(t, err, n)
		assert.Equal(t, 12, i, n)
	}
	_, err := Parse("CAP_FLY")
	require.ErrorIs(t, err, ErrUnknown)
	assert.Equal(t, "CAP_CHECKPOINT_RESTORE", Name(40))
	assert.Equal(t, "CAP_77", Name(77))
}

func TestDefaultIsDockers(t *testing.T) {
	got, err := Resolve(nil, nil, Last)
	require.NoError(t, err)
	assert.Len(t, got, 14)
	// The mask Docker containers show as CapBnd in /proc/self/status.
	assert.Equal(t, uint64(0xa80425fb), Mask(got))
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name      string
		add, drop []string
		last      int
		want      []string
	}{
		{name: "drop all add one", drop: []string{"all"}, add: []string{"net_admin"}, last: Last, want: []string{"CAP_NET_ADMIN"}},
		{name: "drop some", drop: []string{"CAP_CHOWN", "kill", "mknod", "net_raw", "setfcap", "setpcap", "audit_write", "sys_chroot", "net_bind_service", "fowner", "fsetid", "dac_override", "setuid"}, last: Last, want: []string{"CAP_SETGID"}},
		{name: "add wins", add: []string{"chown"}, drop: []string{"ALL", "chown"}, last: Last, want: []string{"CAP_CHOWN"}},
		{name: "add all bounded by kernel", add: []string{"ALL"}, drop: []string{"ALL"}, last: 2, want: []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH"}},
		{name: "none", drop: []string{"ALL"}, last: Last, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.add, tt.drop, tt.last)
			require.NoError(t, err)
			names := []string{}
			for _, i := range got {
				names = append(names, Name(i))
			}
			assert.Equal(t, tt.want, names)
		})
	}
	_, err := Resolve([]string{"CAP_FLY"}, nil, Last)
	require.ErrorIs(t, err, ErrUnknown)
	_, err = Resolve(nil, []string{"CAP_FLY"}, Last)
	require.ErrorIs(t, err, ErrUnknown)
}
