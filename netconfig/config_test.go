package netconfig

import (
	"encoding/json"
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigJSONRoundTrip(t *testing.T) {
	cfg := Config{
		ID: "c1", IPAM: "/var/lib/ipam",
		Interfaces: []Interface{{
			Name: "eth0", HostName: "veth0123456789", Bridge: "br0", MTU: 1400,
			MAC:       net.HardwareAddr{2, 0x42, 10, 0, 0, 2},
			Addresses: []netip.Prefix{netip.MustParsePrefix("10.0.0.2/24"), netip.MustParsePrefix("fd00::2/64")},
			Pool:      "net", Gateways: []netip.Addr{netip.MustParseAddr("10.0.0.1")},
		}},
		Routes:   []Route{{Dst: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("10.0.0.254")}},
		Ports:    []Port{{Proto: "udp", HostIP: netip.MustParseAddr("0.0.0.0"), HostPort: 5353, ContainerPort: 53}},
		PortMode: PortNAT, Hostname: "c1",
		DNS:   DNS{Servers: []netip.Addr{netip.MustParseAddr("10.0.0.1")}, Search: []string{"example"}},
		Hosts: []Host{{Addr: netip.MustParseAddr("10.0.0.3"), Names: []string{"db"}}},
	}
	data, err := json.Marshal(cfg)
	require.NoError(t, err)
	var back Config
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, cfg, back, "a resolved Config stored on disk can be detached later")

	bad := `{"ID":"c1","Interfaces":[{"Addresses":["10.0.0.2/33"]}]}`
	assert.Error(t, json.Unmarshal([]byte(bad), &back), "an invalid CIDR does not decode")
	bad = `{"Name":"p","Subnets":[{"Prefix":"10.0.0.0/8x"}]}`
	var p Pool
	assert.Error(t, json.Unmarshal([]byte(bad), &p))
}
