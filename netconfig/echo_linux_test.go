package netconfig

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer listens on addr ("IP:PORT") in namespace ns and echoes every
// TCP connection, or every UDP datagram, until the test ends. It returns
// the bound address.
func echoServer(t testing.TB, ns *os.File, network, addr string) netip.AddrPort {
	t.Helper()
	var wg sync.WaitGroup
	if network == "udp" {
		pc, err := listenIn(ns, func() (net.PacketConn, error) { return net.ListenPacket("udp", addr) })
		require.NoError(t, err)
		t.Cleanup(func() { pc.Close(); wg.Wait() })
		wg.Go(func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = pc.WriteTo(buf[:n], from)
			}
		})
		return pc.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	ln, err := listenIn(ns, func() (net.Listener, error) { return net.Listen("tcp", addr) })
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c); c.Close() })
		}
	})
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// echo sends msg to addr from namespace ns and returns the reply and the
// local address the connection used.
func echo(ns *os.File, network string, addr netip.AddrPort, msg string) (string, error) {
	c, err := listenIn(ns, func() (net.Conn, error) {
		return net.DialTimeout(network, addr.String(), 2*time.Second)
	})
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return "", err
	}
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return "", fmt.Errorf("reading echo from %v: %w", addr, err)
	}
	return string(buf), nil
}

// requireEcho checks that an echo from ns to addr comes back.
func requireEcho(t testing.TB, ns *os.File, network string, addr netip.AddrPort) {
	t.Helper()
	msg := fmt.Sprintf("hello %s %v", network, addr)
	got, err := echo(ns, network, addr, msg)
	require.NoError(t, err, "echo %s %v", network, addr)
	require.Equal(t, msg, got)
}

// requireEchoIPv6 is requireEcho for an IPv6 address that was just
// added. The kernel makes an IPv6 address routable from a work queue, even
// with IFA_F_NODAD, so for a few milliseconds after the address is added a
// connection to it is routed as if it were elsewhere, and that connection
// never recovers; later ones work. So this tries fresh connections, each
// given a short time, for up to two seconds.
func requireEchoIPv6(t testing.TB, ns *os.File, addr netip.AddrPort) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		var c net.Conn
		c, err = listenIn(ns, func() (net.Conn, error) { return net.DialTimeout("tcp", addr.String(), 200*time.Millisecond) })
		if err != nil {
			continue
		}
		c.Close()
		break
	}
	require.NoError(t, err, "connecting to %v", addr)
	requireEcho(t, ns, "tcp", addr)
}

// remoteAddrServer accepts TCP connections on addr in ns and writes each
// client's address back, then closes.
func remoteAddrServer(t testing.TB, ns *os.File, addr string) netip.AddrPort {
	t.Helper()
	ln, err := listenIn(ns, func() (net.Listener, error) { return net.Listen("tcp", addr) })
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().String())
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func readAll(ns *os.File, addr netip.AddrPort) (string, error) {
	c, err := listenIn(ns, func() (net.Conn, error) { return net.DialTimeout("tcp", addr.String(), 2*time.Second) })
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return string(b), nil
}
