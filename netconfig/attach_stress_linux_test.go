package netconfig

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestAttachDetachConcurrent(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	const goroutines, cycles = 8, 200
	n := newTestNet(t, "10.46.0.0/24", "fd00:46::/64")
	ctrs := make([]*os.File, goroutines)
	for i := range ctrs {
		ctrs[i] = newNetNS(t)
	}

	var mu sync.Mutex
	held := map[netip.Prefix]string{}
	var wg sync.WaitGroup
	errs := make(chan error, cycles)
	for g := range goroutines {
		wg.Go(func() {
			for i := g; i < cycles; i += goroutines {
				id := fmt.Sprintf("c%03d", i)
				cfg := n.config(id)
				if i%4 == 0 {
					cfg.Ports = []Port{{ContainerPort: 80}} // a proxy too, now and then
				}
				// Odd goroutines share the test's Handle on the host.
				attach := func() (*Attachment, error) { return Attach(context.Background(), n.host, ctrs[g], cfg) }
				if g%2 == 1 {
					attach = func() (*Attachment, error) { return n.h.Attach(context.Background(), ctrs[g], cfg) }
				}
				a, err := attach()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, p := range a.Config().Interfaces[0].Addresses {
					if other, dup := held[p]; dup {
						errs <- fmt.Errorf("%v held by %s and %s", p, other, id)
					}
					held[p] = id
				}
				mu.Unlock()
				addrs, err := openAndAddrs(ctrs[g])
				if err != nil || len(addrs) < 2 {
					errs <- fmt.Errorf("%s: container addresses %v: %v", id, addrs, err)
				}
				mu.Lock()
				for _, p := range a.Config().Interfaces[0].Addresses {
					delete(held, p)
				}
				mu.Unlock()
				if err := a.Detach(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n.requireClean(t, ctrs...)
}

func openAndAddrs(ns *os.File) ([]netip.Prefix, error) {
	h, err := Open(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.Addrs("eth0")
}

func TestAttachBadInput(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.47.0.0/24")
	_, err := n.ipam.CreatePool(t.Context(), Pool{Name: "tiny", Subnets: []Subnet{{Prefix: netip.MustParsePrefix("10.48.0.0/30")}}})
	require.NoError(t, err)
	_, err = n.ipam.Allocate(t.Context(), "tiny", "holder") // the only address
	require.NoError(t, err)
	taken := echoServer(t, n.host, "tcp", "0.0.0.0:0")

	tests := []struct {
		name   string
		modify func(*Config)
		want   error
	}{
		{"bad ID", func(c *Config) { c.ID = "a/b" }, fs.ErrInvalid},
		{"name too long for the kernel", func(c *Config) { c.Interfaces[0].Name = "eth-much-too-long" }, fs.ErrInvalid},
		{"host name too long", func(c *Config) { c.Interfaces[0].HostName = strings.Repeat("v", 16) }, fs.ErrInvalid},
		{"invalid static address", func(c *Config) { c.Interfaces[0].Addresses = []netip.Prefix{{}} }, fs.ErrInvalid},
		{"missing pool", func(c *Config) { c.Interfaces[0].Pool = "nosuch" }, fs.ErrNotExist},
		{"exhausted pool", func(c *Config) { c.Interfaces[0].Pool = "tiny" }, ErrExhausted},
		{"missing bridge", func(c *Config) { c.Interfaces[0].Bridge = "nosuch" }, fs.ErrNotExist},
		{"second interface fails", func(c *Config) {
			c.Interfaces = append(c.Interfaces, Interface{Bridge: "nosuch"})
		}, fs.ErrNotExist},
		{"same static address twice", func(c *Config) {
			a := netip.MustParsePrefix("10.47.0.200/24")
			c.Interfaces[0].Addresses = []netip.Prefix{a, a}
		}, fs.ErrExist},
		{"unreachable route", func(c *Config) {
			c.Routes = []Route{{Dst: netip.MustParsePrefix("192.0.2.0/24"), Via: netip.MustParseAddr("198.51.100.1")}}
		}, unix.ENETUNREACH},
		{"port without container port", func(c *Config) { c.Ports = []Port{{HostPort: 80}} }, fs.ErrInvalid},
		{"port protocol", func(c *Config) { c.Ports = []Port{{Proto: "sctp", ContainerPort: 80}} }, fs.ErrInvalid},
		{"port in use", func(c *Config) { c.Ports = []Port{{HostPort: taken.Port(), ContainerPort: 80}} }, unix.EADDRINUSE},
		{"IPv6 port without IPv6 address", func(c *Config) {
			c.Ports = []Port{{HostIP: netip.IPv6Unspecified(), ContainerPort: 80}}
		}, fs.ErrInvalid},
		{"NAT on loopback", func(c *Config) {
			c.PortMode = PortNAT
			c.Ports = []Port{{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 80}}
		}, fs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctr := newNetNS(t)
			cfg := n.config("bad")
			tt.modify(&cfg)
			a, err := Attach(t.Context(), n.host, ctr, cfg)
			if a != nil {
				t.Cleanup(func() { _ = a.Detach(context.Background()) })
			}
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, a)
			assert.Equal(t, []string{"lo", n.bridge}, linkNames(t, n.host), "host links")
			assert.Equal(t, []string{"lo"}, linkNames(t, ctr), "container links")
			leases, err := n.ipam.Leases(t.Context(), "net")
			require.NoError(t, err)
			assert.Empty(t, leases)
			tiny, err := n.ipam.Leases(t.Context(), "tiny")
			require.NoError(t, err)
			assert.Len(t, tiny, 1, "the holder keeps its lease")
		})
	}
	t.Run("nil container namespace", func(t *testing.T) {
		_, err := Attach(t.Context(), n.host, nil, n.config("bad"))
		require.ErrorIs(t, err, fs.ErrInvalid)
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ctr := newNetNS(t)
		_, err := Attach(ctx, n.host, ctr, n.config("bad"))
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, []string{"lo"}, linkNames(t, ctr))
	})
	t.Run("same ID twice keeps the first", func(t *testing.T) {
		ctr1, ctr2 := newNetNS(t), newNetNS(t)
		a, err := Attach(t.Context(), n.host, ctr1, n.config("twice"))
		require.NoError(t, err)
		defer a.Detach(context.Background())
		_, err = Attach(t.Context(), n.host, ctr2, n.config("twice"))
		require.ErrorIs(t, err, fs.ErrExist)
		assert.Equal(t, []string{"lo", "eth0"}, linkNames(t, ctr1), "the first attachment is untouched")
		leases, err := n.ipam.Leases(t.Context(), "net")
		require.NoError(t, err)
		assert.Len(t, leases, 1)
	})
}
