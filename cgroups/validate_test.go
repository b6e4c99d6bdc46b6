package cgroups

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		r     *Resources
		valid bool
	}{
		{"nil", nil, true},
		{"zero", &Resources{}, true},
		{"everything", &Resources{
			Memory:  &Memory{Max: new(int64(1 << 20)), Low: new(int64(0)), Swap: new(int64(Unlimited)), OOMKillDisable: new(true)},
			CPU:     &CPU{Weight: new(uint64(10000)), Quota: new(int64(1000)), Period: new(uint64(1000000)), Cpus: "0-1,3", Mems: "0"},
			IO:      &IO{Weight: new(uint64(1)), Limits: []IOLimit{{Major: 8, ReadBPS: 1, WriteIOPS: Unlimited}}},
			Pids:    &Pids{Max: new(int64(0))},
			Devices: []DeviceRule{{Type: 'a'}, {Allow: true, Type: 'c', Major: 1, Minor: -1, Access: "rwm"}},
		}, true},
		{"memory max negative", &Resources{Memory: &Memory{Max: new(int64(-5))}}, false},
		{"memory max zero", &Resources{Memory: &Memory{Max: new(int64(0))}}, false},
		{"memory low negative", &Resources{Memory: &Memory{Low: new(int64(-2))}}, false},
		{"swap negative", &Resources{Memory: &Memory{Swap: new(int64(-7))}}, false},
		{"weight zero", &Resources{CPU: &CPU{Weight: new(uint64(0))}}, false},
		{"weight too big", &Resources{CPU: &CPU{Weight: new(uint64(10001))}}, false},
		{"quota too small", &Resources{CPU: &CPU{Quota: new(int64(999))}}, false},
		{"period too small", &Resources{CPU: &CPU{Period: new(uint64(999))}}, false},
		{"period too big", &Resources{CPU: &CPU{Period: new(uint64(1000001))}}, false},
		{"cpus syntax", &Resources{CPU: &CPU{Cpus: "0-"}}, false},
		{"cpus backwards", &Resources{CPU: &CPU{Cpus: "3-1"}}, false},
		{"mems syntax", &Resources{CPU: &CPU{Mems: "a"}}, false},
		{"io weight", &Resources{IO: &IO{Weight: new(uint64(20000))}}, false},
		{"io negative device", &Resources{IO: &IO{Limits: []IOLimit{{Major: -1, ReadBPS: 1}}}}, false},
		{"io negative rate", &Resources{IO: &IO{Limits: []IOLimit{{Major: 8, ReadBPS: -2}}}}, false},
		{"pids negative", &Resources{Pids: &Pids{Max: new(int64(-3))}}, false},
		{"device type", &Resources{Devices: []DeviceRule{{Type: 'x', Access: "r"}}}, false},
		{"device access", &Resources{Devices: []DeviceRule{{Type: 'c', Access: "rx"}}}, false},
		{"device access repeated", &Resources{Devices: []DeviceRule{{Type: 'c', Access: "rr"}}}, false},
		{"device access empty", &Resources{Devices: []DeviceRule{{Type: 'b'}}}, false},
		{"device number", &Resources{Devices: []DeviceRule{{Type: 'b', Major: -2, Access: "r"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.valid {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, fs.ErrInvalid)
		})
	}
}

func TestDeviceRuleLine(t *testing.T) {
	assert.Equal(t, "a *:* rwm", DeviceRule{Type: 'a'}.line())
	assert.Equal(t, "c 1:3 rw", DeviceRule{Type: 'c', Major: 1, Minor: 3, Access: "rw"}.line())
	assert.Equal(t, "c 136:* rwm", DeviceRule{Type: 'c', Major: 136, Minor: -1, Access: "rwm"}.line())
	assert.Equal(t, "b *:* m", DeviceRule{Type: 'b', Major: -1, Minor: -1, Access: "m"}.line())
}

func TestCPUSet(t *testing.T) {
	s, err := ParseCPUSet(" 0-2,5,64-65\n")
	require.NoError(t, err)
	assert.Equal(t, 6, s.Len())
	for _, id := range []int{0, 1, 2, 5, 64, 65} {
		assert.True(t, s.Contains(id), id)
	}
	assert.False(t, s.Contains(3))
	assert.False(t, s.Contains(-1))
	assert.False(t, s.Contains(1000))

	have, err := ParseCPUSet("0-3")
	require.NoError(t, err)
	assert.Equal(t, "5,64,65", s.Missing(have))
	sub, _ := ParseCPUSet("1,3")
	assert.Empty(t, sub.Missing(have))

	for _, bad := range []string{"1,,2", "-1", "x", "2-1", "0-99999", "1-2-3"} {
		_, err := ParseCPUSet(bad)
		assert.Error(t, err, bad)
	}
	empty, err := ParseCPUSet("")
	require.NoError(t, err)
	assert.Zero(t, empty.Len())
}

func TestCheckCPUSet(t *testing.T) {
	assert.NoError(t, checkCPUSet("cpus", "0-1", "0-3\n"))
	assert.NoError(t, checkCPUSet("cpus", "", "0"))
	err := checkCPUSet("cpus", "0,7", "0-3\n")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	assert.Contains(t, err.Error(), `7 not available (the host has "0-3")`)
}

func TestWeightTranslation(t *testing.T) {
	tests := []struct{ weight, shares, blkio uint64 }{
		{1, 2, 10},
		{100, 2597, 19},
		{10000, 262144, 1000},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.shares, sharesFromWeight(tt.weight), "shares for %d", tt.weight)
		assert.Equal(t, tt.blkio, blkioFromWeight(tt.weight), "blkio for %d", tt.weight)
	}
}

func TestGroupPath(t *testing.T) {
	tests := []struct {
		parent, in, want string
		ok               bool
	}{
		{"/berth", "web", "/berth/web", true},
		{"/berth", "a/b/", "/berth/a/b", true},
		{"/berth", "/abs/x", "/abs/x", true},
		{"/berth", "", "", false},
		{"/berth", "/", "", false},
		{"/berth", "../etc", "", false},
		{"/berth", "a/../../b", "", false},
		{"/berth", "a\x00b", "", false},
	}
	for _, tt := range tests {
		got, err := groupPath(tt.parent, tt.in)
		if !tt.ok {
			assert.ErrorIs(t, err, fs.ErrInvalid, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got)
	}
	_, err := newConfig([]Option{WithParent("relative")})
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = newConfig([]Option{WithRoot("relative")})
	assert.ErrorIs(t, err, fs.ErrInvalid)
}
