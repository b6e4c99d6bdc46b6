package berth_test

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
	"github.com/berthlabs/berth/netconfig"
)

// hostNetNS creates a network namespace that plays the host, with
// loopback up, and returns the path it is pinned at until the test ends.
func hostNetNS(t *testing.T) string {
	t.Helper()
	return testutil.NetNS(t)
}

// openNetHandle opens a netconfig handle on the namespace at path.
func openNetHandle(t *testing.T, path string) *netconfig.Handle {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h, err := netconfig.Open(f)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return h
}

// inNetNS runs fn on a thread in the namespace at path.
func inNetNS(t *testing.T, path string, fn func() error) error {
	t.Helper()
	h, err := namespaces.Open(path)
	require.NoError(t, err)
	defer h.Close()
	return h.Do(fn)
}

// echo connects to addr from the namespace at path, sends msg and returns
// the line that comes back.
func echo(t *testing.T, ns, addr, msg string) (string, error) {
	t.Helper()
	var c net.Conn
	err := inNetNS(t, ns, func() error {
		var err error
		c, err = net.DialTimeout("tcp", addr, 5*time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(c, msg); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// openRuntime opens a Runtime in temporary directories, with ns playing
// the host for the bridge.
func openRuntime(t *testing.T, ns string, opts ...berth.RuntimeOption) *berth.Runtime {
	t.Helper()
	opts = append([]berth.RuntimeOption{berth.WithStateDir(t.TempDir()), berth.WithHostNetNS(ns)}, opts...)
	rt, err := berth.Open(t.TempDir(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	return rt
}

// bridgeContainer returns a bridge-mode container of rt on a payload
// rootfs, deleted when the test ends.
func bridgeContainer(t *testing.T, rt *berth.Runtime, id string, args ...string) (*berth.Container, *lockedBuffer) {
	t.Helper()
	c := rt.NewContainer(nil)
	out := &lockedBuffer{}
	c.ID, c.RootFS, c.Args, c.Stdout, c.Stderr = id, testutil.Rootfs(t), args, out, out
	c.Network = &berth.Network{Mode: berth.NetworkBridge}
	t.Cleanup(func() { _ = c.Delete(context.Background()) })
	return c, out
}

func requireBridgeNetworking(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "veth")
	testutil.RequireFeature(t, "bridge")
	return hostNetNS(t)
}

func TestBridgeContainersTalkAndPublish(t *testing.T) {
	ns := requireBridgeNetworking(t)
	testutil.CheckLeaks(t)
	rt := openRuntime(t, ns)
	web, webOut := bridgeContainer(t, rt, "web", "listen", "0.0.0.0:80")
	web.Network.Ports = []netconfig.Port{{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 80}}
	require.NoError(t, web.Start(t.Context()))
	waitFor(t, func() bool { return strings.Contains(webOut.String(), "listening") })

	st, err := web.State(t.Context())
	require.NoError(t, err)
	require.NotNil(t, st.Network)
	require.Len(t, st.Network.Addrs(), 1)
	webIP := st.Network.Addrs()[0]
	assert.True(t, berth.DefaultSubnet.Contains(webIP), "%v in %v", webIP, berth.DefaultSubnet)
	hostPort := st.Network.Config.Ports[0].HostPort
	require.NotZero(t, hostPort, "the kernel's choice is recorded")

	t.Run("by name across the bridge", func(t *testing.T) {
		client, out := bridgeContainer(t, rt, "client", "connect", "web:80", "hello", "web")
		code, err := client.Run(t.Context())
		require.NoError(t, err)
		assert.Equal(t, 0, code, out.String())
		assert.Equal(t, "hello web\n", out.String())
	})
	t.Run("published to the host namespace", func(t *testing.T) {
		line, err := echo(t, ns, fmt.Sprintf("127.0.0.1:%d", hostPort), "from the host")
		require.NoError(t, err)
		assert.Equal(t, "from the host\n", line)
		// And the bridge reaches the container directly.
		line, err = echo(t, ns, netip.AddrPortFrom(webIP, 80).String(), "direct")
		require.NoError(t, err)
		assert.Equal(t, "direct\n", line)
	})
	t.Run("stats count the traffic", func(t *testing.T) {
		s, err := web.Stats(t.Context())
		require.NoError(t, err)
		require.Len(t, s.Networks, 1)
		assert.Equal(t, "eth0", s.Networks[0].Name)
		assert.Greater(t, s.Networks[0].RxBytes, uint64(0))
		assert.Greater(t, s.Networks[0].TxPackets, uint64(0))
	})
	t.Run("the bridge is in the host namespace only", func(t *testing.T) {
		h := openNetHandle(t, ns)
		br, err := h.Link(berth.DefaultBridge)
		require.NoError(t, err)
		assert.Equal(t, "bridge", br.Type)
		addrs, err := h.Addrs(berth.DefaultBridge)
		require.NoError(t, err)
		assert.Contains(t, addrs, netip.MustParsePrefix("10.87.0.1/16"))
		real, err := netconfig.Open(nil)
		require.NoError(t, err)
		defer real.Close()
		_, err = real.Link(berth.DefaultBridge)
		assert.ErrorIs(t, err, fs.ErrNotExist, "nothing in this process's own namespace")
	})

	require.NoError(t, web.Delete(t.Context()))
	leases, err := rt.IPAM().Leases(t.Context(), berth.DefaultBridge)
	require.NoError(t, err)
	assert.Empty(t, leases)
	links, err := openNetHandle(t, ns).Links()
	require.NoError(t, err)
	for _, l := range links {
		assert.NotEqual(t, "veth", l.Type, "veth %s left behind", l.Name)
	}
	_, err = echo(t, ns, fmt.Sprintf("127.0.0.1:%d", hostPort), "gone")
	assert.Error(t, err, "the published port is closed")
}

func TestEtcFiles(t *testing.T) {
	ns := requireBridgeNetworking(t)
	testutil.CheckLeaks(t)
	rt := openRuntime(t, ns, berth.WithBridge("br-etc", netip.MustParsePrefix("10.99.7.0/24")))
	peer, peerOut := bridgeContainer(t, rt, "peer", "sleep", "60")
	peer.Hostname = "peerhost"
	require.NoError(t, peer.Start(t.Context()))
	peerState, err := peer.State(t.Context())
	require.NoError(t, err)
	peerIP := peerState.Network.Addrs()[0]

	extra := netconfig.Host{Addr: netip.MustParseAddr("192.0.2.10"), Names: []string{"db", "db.internal"}}
	dns := netconfig.DNS{Servers: []netip.Addr{netip.MustParseAddr("192.0.2.53")}, Search: []string{"example.test"}, Options: []string{"ndots:2"}}
	read := func(t *testing.T, file string) (string, *berth.State) {
		c, out := bridgeContainer(t, rt, "", "cat", file)
		c.Hostname = "box"
		c.Network.DNS, c.Network.Hosts = dns, []netconfig.Host{extra}
		require.NoError(t, c.Start(t.Context()))
		st, err := c.State(t.Context())
		require.NoError(t, err)
		code, err := c.Wait(t.Context())
		require.NoError(t, err)
		require.Equal(t, 0, code, out.String())
		return out.String(), st
	}
	t.Run("hosts", func(t *testing.T) {
		hosts, st := read(t, "/etc/hosts")
		own := st.Network.Addrs()[0]
		assert.Contains(t, hosts, "127.0.0.1\tlocalhost")
		assert.Regexp(t, fmt.Sprintf(`(?m)^%s\s+box$`, own), hosts)
		assert.Regexp(t, `(?m)^192\.0\.2\.10\s+db\s+db\.internal$`, hosts)
		assert.Regexp(t, fmt.Sprintf(`(?m)^%s\s+peer\s+peerhost$`, peerIP), hosts)
	})
	t.Run("resolv.conf", func(t *testing.T) {
		resolv, _ := read(t, "/etc/resolv.conf")
		assert.Contains(t, resolv, "nameserver 192.0.2.53\n")
		assert.Contains(t, resolv, "search example.test\n")
		assert.Contains(t, resolv, "options ndots:2\n")
		assert.NotContains(t, resolv, "127.0.0.")
	})
	t.Run("hostname", func(t *testing.T) {
		name, _ := read(t, "/etc/hostname")
		assert.Equal(t, "box\n", name)
	})
	t.Run("the peer learnt about a newcomer and forgot it", func(t *testing.T) {
		c, _ := bridgeContainer(t, rt, "newcomer", "sleep", "60")
		require.NoError(t, c.Start(t.Context()))
		st, err := c.State(t.Context())
		require.NoError(t, err)
		out := &lockedBuffer{}
		p := &berth.Process{Args: []string{"cat", "/etc/hosts"}, Stdout: out}
		require.NoError(t, peer.Exec(t.Context(), p))
		_, err = p.Wait(t.Context())
		require.NoError(t, err)
		assert.Regexp(t, fmt.Sprintf(`(?m)^%s\s+newcomer$`, st.Network.Addrs()[0]), out.String())
		require.NoError(t, c.Delete(t.Context()))
		out = &lockedBuffer{}
		p = &berth.Process{Args: []string{"cat", "/etc/hosts"}, Stdout: out}
		require.NoError(t, peer.Exec(t.Context(), p))
		_, err = p.Wait(t.Context())
		require.NoError(t, err)
		assert.NotContains(t, out.String(), "newcomer")
	})
	_ = peerOut
}

func TestNetworkNoneAndHost(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	extra := []netconfig.Host{{Addr: netip.MustParseAddr("192.0.2.11"), Names: []string{"extra"}}}
	t.Run("none", func(t *testing.T) {
		out, _, code := output(t, func(c *berth.Container) {
			c.Network = &berth.Network{Mode: berth.NetworkNone, Hosts: extra}
		}, "ls", "/sys/class/net")
		require.Equal(t, 0, code)
		assert.Equal(t, []string{"lo"}, strings.Fields(out))
		hosts, _, code := output(t, func(c *berth.Container) {
			c.Network = &berth.Network{Hosts: extra}
		}, "cat", "/etc/hosts")
		require.Equal(t, 0, code)
		assert.Contains(t, hosts, "192.0.2.11\textra")
	})
	t.Run("host", func(t *testing.T) {
		// Read only: the host's links are listed, nothing is changed.
		out, _, code := output(t, func(c *berth.Container) {
			c.Network = &berth.Network{Mode: berth.NetworkHost, Hosts: extra}
		}, "cat", "/etc/hosts")
		require.Equal(t, 0, code)
		own, err := os.ReadFile("/etc/hosts")
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(out, string(own)), "the host's /etc/hosts first")
		assert.Contains(t, out, "192.0.2.11\textra\n")
		links, _, code := output(t, func(c *berth.Container) {
			c.Network = &berth.Network{Mode: berth.NetworkHost}
		}, "ls", "/sys/class/net")
		require.Equal(t, 0, code)
		ifaces, err := net.Interfaces()
		require.NoError(t, err)
		assert.Len(t, strings.Fields(links), len(ifaces))
	})
	t.Run("bridge needs a runtime", func(t *testing.T) {
		c, _, _ := newContainer(t, "true")
		c.Network = &berth.Network{Mode: berth.NetworkBridge}
		err := c.Start(t.Context())
		var ie *berth.InitError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, "network", ie.Stage)
		assert.ErrorIs(t, err, os.ErrInvalid)
	})
}
