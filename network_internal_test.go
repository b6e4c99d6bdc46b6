package berth

import (
	"io/fs"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/namespaces"
	"github.com/berthlabs/berth/netconfig"
)

func TestNetworkState(t *testing.T) {
	br := &bridgeConfig{name: "berth0", ipamDir: "/var/lib/berth/ipam", hostNetNS: "/run/netns/h"}
	port := []netconfig.Port{{ContainerPort: 80}}
	tests := []struct {
		name    string
		share   namespaces.Kind
		network *Network
		br      *bridgeConfig
		want    NetworkMode
		bad     bool
	}{
		{name: "nil", network: nil},
		{name: "zero is none", network: &Network{}, want: NetworkNone},
		{name: "host", network: &Network{Mode: NetworkHost}, want: NetworkHost},
		{name: "host with net shared", share: namespaces.Net, network: &Network{Mode: NetworkHost}, want: NetworkHost},
		{name: "bridge", network: &Network{Mode: NetworkBridge, Ports: port}, br: br, want: NetworkBridge},
		{name: "bridge without runtime", network: &Network{Mode: NetworkBridge}, bad: true},
		{name: "bridge with net shared", share: namespaces.Net, network: &Network{Mode: NetworkBridge}, br: br, bad: true},
		{name: "ports without bridge", network: &Network{Mode: NetworkNone, Ports: port}, bad: true},
		{name: "unknown mode", network: &Network{Mode: "overlay"}, bad: true},
		{name: "bad port", network: &Network{Mode: NetworkBridge, Ports: []netconfig.Port{{}}}, br: br, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Container{ID: "c1", Share: tt.share, Network: tt.network}
			st, err := c.networkState("c1", tt.br)
			if tt.bad {
				assert.ErrorIs(t, err, fs.ErrInvalid)
				return
			}
			require.NoError(t, err)
			if tt.network == nil {
				assert.Nil(t, st)
				return
			}
			assert.Equal(t, tt.want, st.Mode)
			if tt.want == NetworkBridge {
				assert.Equal(t, "/run/netns/h", st.HostNetNS)
				assert.Equal(t, "berth0", st.bridge())
				assert.Equal(t, "/var/lib/berth/ipam", st.Config.IPAM)
				assert.Equal(t, port, st.Config.Ports)
			}
		})
	}
}

func TestHostsForPeers(t *testing.T) {
	long := strings.Repeat("ab", 32)
	a := member{id: "web", hostname: "web", addrs: []netip.Addr{netip.MustParseAddr("10.87.0.2")}}
	b := member{id: long, hostname: "worker", addrs: []netip.Addr{netip.MustParseAddr("10.87.0.3")},
		extra: []netconfig.Host{{Addr: netip.MustParseAddr("192.0.2.1"), Names: []string{"db"}}}}
	members := []member{a, b}
	got, err := hostsFor(b, members)
	require.NoError(t, err)
	assert.Contains(t, string(got), "10.87.0.3\tworker\n", "its own name")
	assert.Contains(t, string(got), "192.0.2.1\tdb\n", "its extra entries")
	assert.Contains(t, string(got), "10.87.0.2\tweb\n", "the peer, once")
	assert.NotContains(t, string(got), long)
	got, err = hostsFor(a, members)
	require.NoError(t, err)
	assert.Contains(t, string(got), "10.87.0.3\t"+long[:12]+" worker\n", "a 64-digit ID is no host name: its short form is")
	assert.NotContains(t, string(got), "192.0.2.1", "another's extra entries stay its own")
}

func TestParseNetDev(t *testing.T) {
	const head = "Inter-|   Receive                                                |  Transmit\n" +
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	tests := []struct {
		name string
		in   string
		want []InterfaceStats
		bad  bool
	}{
		{name: "empty", in: head},
		{name: "loopback is left out", in: head + "    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0\n"},
		{name: "two interfaces", in: head +
			"  eth0:    1296      16    1    2    0     0          0         0      656       8    3    4    0     0       0          0\n" +
			"eth1:5 6 0 0 0 0 0 0 7 8 0 0 0 0 0 0\n",
			want: []InterfaceStats{
				{Name: "eth0", RxBytes: 1296, RxPackets: 16, RxErrors: 1, RxDropped: 2, TxBytes: 656, TxPackets: 8, TxErrors: 3, TxDropped: 4},
				{Name: "eth1", RxBytes: 5, RxPackets: 6, TxBytes: 7, TxPackets: 8},
			}},
		{name: "short line", in: head + "eth0: 1 2 3\n", bad: true},
		{name: "not a number", in: head + "eth0: 1 2 3 4 5 6 7 8 x 10 11 12 13 14 15 16\n", bad: true},
		{name: "no colon", in: head + "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNetDev(strings.NewReader(tt.in))
			if tt.bad {
				assert.ErrorIs(t, err, fs.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDefaultDevices(t *testing.T) {
	rules := DefaultDeviceRules()
	require.NoError(t, (&cgroups.Resources{Devices: rules}).Validate())
	assert.Equal(t, cgroups.DeviceRule{Allow: false, Type: 'a', Major: -1, Minor: -1, Access: "rwm"}, rules[0], "deny all first")
	assert.Contains(t, rules, cgroups.DeviceRule{Allow: false, Type: 'c', Major: 10, Minor: 229, Access: "rwm"}, "no fuse")
	rules[0].Allow = true
	assert.False(t, DefaultDeviceRules()[0].Allow, "a new slice each call")

	r := withDefaultDevices(nil)
	assert.Equal(t, DefaultDeviceRules(), r.Devices)
	own := &cgroups.Resources{Devices: []cgroups.DeviceRule{{Allow: true, Type: 'a', Major: -1, Minor: -1, Access: "rwm"}}}
	assert.Equal(t, own.Devices, withDefaultDevices(own).Devices, "the caller's rules win")
	max := int64(1 << 20)
	limited := &cgroups.Resources{Memory: &cgroups.Memory{Max: &max}}
	got := withDefaultDevices(limited)
	assert.Equal(t, limited.Memory, got.Memory)
	assert.Empty(t, limited.Devices, "the caller's Resources are not changed")
}

func TestCgroupPath(t *testing.T) {
	for cg, want := range map[string]string{"": "/berth/c1", "/custom/x": "/custom/x", "sub/x": "/berth/sub/x", "/a/../b": "/b"} {
		c := &Container{ID: "c1", Cgroup: cg}
		assert.Equal(t, want, c.cgroupPath(), cg)
	}
}

func TestRuntimeOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []RuntimeOption
		bad  bool
	}{
		{name: "defaults"},
		{name: "bridge", opts: []RuntimeOption{WithBridge("br1", netip.MustParsePrefix("10.9.0.0/24"))}},
		{name: "host bits", opts: []RuntimeOption{WithBridge("br1", netip.MustParsePrefix("10.9.0.1/24"))}, bad: true},
		{name: "no room", opts: []RuntimeOption{WithBridge("br1", netip.MustParsePrefix("10.9.0.0/31"))}, bad: true},
		{name: "long name", opts: []RuntimeOption{WithBridge("a-very-long-bridge", DefaultSubnet)}, bad: true},
		{name: "snapshotter", opts: []RuntimeOption{WithSnapshotter("zfs")}, bad: true},
		{name: "relative netns", opts: []RuntimeOption{WithHostNetNS("run/netns/x")}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := newRuntimeConfig(tt.opts)
			if tt.bad {
				assert.ErrorIs(t, err, fs.ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.NotEmpty(t, cfg.bridge)
		})
	}
}
