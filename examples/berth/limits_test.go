package main

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/netconfig"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		in   string
		want netconfig.Port
		bad  bool
	}{
		{in: "80", want: netconfig.Port{ContainerPort: 80}},
		{in: "8080:80", want: netconfig.Port{HostPort: 8080, ContainerPort: 80}},
		{in: "127.0.0.1:8080:80/udp", want: netconfig.Port{Proto: "udp", HostPort: 8080, ContainerPort: 80,
			HostIP: mustAddr("127.0.0.1")}},
		{in: "[::1]:8080:80", want: netconfig.Port{HostPort: 8080, ContainerPort: 80, HostIP: mustAddr("::1")}},
		{in: "127.0.0.1::80", want: netconfig.Port{ContainerPort: 80, HostIP: mustAddr("127.0.0.1")}},
		{in: "8080:0", bad: true},
		{in: "x:80", bad: true},
		{in: "80/sctp", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePort(tt.in)
			if tt.bad {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	for in, want := range map[string]int64{"32m": 32 << 20, "1g": 1 << 30, "512k": 512 << 10, "100": 100, "2MB": 2 << 20} {
		got, err := parseBytes(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-1m", "m", "1x"} {
		_, err := parseBytes(bad)
		assert.Error(t, err, bad)
	}
	for w := uint64(10); w <= 1000; w++ {
		// cgroups maps the v2 weight back to blkio.weight this way.
		back := 10 + (weightFromBlkio(w)-1)*990/9999
		require.Equal(t, w, back, "blkio weight %d", w)
	}
	h, err := parseAddHost("db:192.0.2.1")
	require.NoError(t, err)
	assert.Equal(t, netconfig.Host{Addr: mustAddr("192.0.2.1"), Names: []string{"db"}}, h)
	_, err = parseAddHost("db")
	assert.Error(t, err)
	l := limitFlags{memory: "64m", cpus: 0.5, pidsLimit: 100}
	r, err := l.resources()
	require.NoError(t, err)
	assert.Equal(t, int64(64<<20), *r.Memory.Max)
	assert.Equal(t, int64(50000), *r.CPU.Quota)
	assert.Equal(t, uint64(100000), *r.CPU.Period)
	assert.Equal(t, int64(100), *r.Pids.Max)
	r, err = (&limitFlags{}).resources()
	require.NoError(t, err)
	assert.Nil(t, r)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
