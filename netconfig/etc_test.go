package netconfig

import (
	"io"
	"io/fs"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolvConf(t *testing.T) {
	addr := netip.MustParseAddr
	tests := []struct {
		name string
		host string // "" means no host file
		dns  DNS
		want string
	}{
		{"no host file", "", DNS{}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"only loopback servers", "nameserver 127.0.0.53\nnameserver ::1\n", DNS{}, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"link-local dropped", "nameserver fe80::1%eth0\nnameserver 2001:db8::53\n", DNS{}, "nameserver 2001:db8::53\n"},
		{"comments and junk", "# nameserver 1.1.1.1\n; x\nnameserver bogus\nnameserver 9.9.9.9\ndomain a.example\nsearch b.example c.example\n",
			DNS{}, "nameserver 9.9.9.9\nsearch b.example c.example\n"},
		{"given servers win", "nameserver 9.9.9.9\nsearch h.example\noptions ndots:1\n",
			DNS{Servers: []netip.Addr{addr("10.0.0.53")}, Options: []string{"ndots:2"}},
			"nameserver 10.0.0.53\nsearch h.example\noptions ndots:2\n"},
		{"empty search overrides the host's", "nameserver 9.9.9.9\nsearch h.example\n", DNS{Search: []string{}}, "nameserver 9.9.9.9\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader
			if tt.host != "" {
				r = strings.NewReader(tt.host)
			}
			got, err := ResolvConf(r, tt.dns)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestEtcFilesErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"bad host name", Config{ID: "x", Hostname: "-bad"}},
		{"host name too long", Config{ID: "x", Hostname: strings.Repeat("a", 65)}},
		{"hosts entry without name", Config{ID: "x", Hosts: []Host{{Addr: netip.MustParseAddr("10.0.0.1")}}}},
		{"hosts entry without address", Config{ID: "x", Hosts: []Host{{Names: []string{"db"}}}}},
		{"bad DNS server", Config{ID: "x", DNS: DNS{Servers: []netip.Addr{{}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EtcFiles(tt.cfg, nil)
			assert.ErrorIs(t, err, fs.ErrInvalid)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{ID: "c1", IPAM: "/tmp/x", Interfaces: []Interface{{Bridge: "br0", Pool: "net"}},
		Ports: []Port{{ContainerPort: 80}}}
	require.NoError(t, ok.Validate())
	tests := []struct {
		name   string
		modify func(*Config)
	}{
		{"no ID", func(c *Config) { c.ID = "" }},
		{"pool without IPAM", func(c *Config) { c.IPAM = "" }},
		{"duplicate names", func(c *Config) { c.Interfaces = append(c.Interfaces, Interface{Name: "eth0"}) }},
		{"negative MTU", func(c *Config) { c.Interfaces[0].MTU = -1 }},
		{"bad bridge name", func(c *Config) { c.Interfaces[0].Bridge = "br 0" }},
		{"route without interface", func(c *Config) {
			c.Interfaces = nil
			c.Routes = []Route{{Via: netip.MustParseAddr("10.0.0.1")}}
		}},
		{"unknown port mode", func(c *Config) { c.PortMode = 7 }},
		{"mapped host IP", func(c *Config) { c.Ports[0].HostIP = netip.MustParseAddr("::ffff:10.0.0.1") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok.clone()
			tt.modify(&c)
			assert.ErrorIs(t, c.Validate(), fs.ErrInvalid)
		})
	}
}

func TestConfigDefaultsAreStable(t *testing.T) {
	a := Config{ID: "abc", Interfaces: []Interface{{}, {}}}.withDefaults()
	b := Config{ID: "abc", Interfaces: []Interface{{}, {}}}.withDefaults()
	assert.Equal(t, a, b, "host names derive from the ID, so Detach can find them")
	assert.Equal(t, "eth0", a.Interfaces[0].Name)
	assert.Equal(t, "eth1", a.Interfaces[1].Name)
	assert.NotEqual(t, a.Interfaces[0].HostName, a.Interfaces[1].HostName)
	assert.Len(t, a.Interfaces[0].HostName, 14)
	c := Config{ID: "abd", Interfaces: []Interface{{}}}.withDefaults()
	assert.NotEqual(t, a.Interfaces[0].HostName, c.Interfaces[0].HostName)
}

func TestRouteString(t *testing.T) {
	r := Route{Via: netip.MustParseAddr("10.0.0.1"), Link: "eth0"}
	assert.Equal(t, "default via 10.0.0.1 dev eth0", r.String())
	r = Route{Dst: netip.MustParsePrefix("10.1.0.0/16"), Src: netip.MustParseAddr("10.0.0.2"), Metric: 5}
	assert.Equal(t, "10.1.0.0/16 src 10.0.0.2 metric 5", r.String())
}
