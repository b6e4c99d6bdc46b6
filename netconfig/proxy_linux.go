package netconfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// dialTimeout bounds how long the proxy waits to connect to the container.
const dialTimeout = 5 * time.Second

// udpIdle is how long a UDP flow without traffic keeps its socket.
const udpIdle = 90 * time.Second

// maxUDPFlows bounds the sockets one UDP proxy opens, so that datagrams
// from many (possibly spoofed) sources cannot exhaust file descriptors;
// datagrams of further sources are dropped until flows expire.
const maxUDPFlows = 1024

// publisher is a published port's live part in this process.
type publisher interface {
	// Close stops forwarding and releases the host port.
	Close() error
}

// listenIn runs listen with the calling thread in namespace ns.
func listenIn[T io.Closer](ns *os.File, listen func() (T, error)) (T, error) {
	var v T
	ok := false
	err := inNS(ns, func() error {
		var err error
		v, err = listen()
		ok = err == nil
		return err
	})
	if err != nil && ok {
		// listen succeeded but the thread could not return: drop it.
		v.Close()
	}
	return v, err
}

// tcpProxy accepts connections on the host port and copies each to a new
// connection to the container.
type tcpProxy struct {
	ln     net.Listener
	target netip.AddrPort
	ns     *os.File      // host namespace, to dial from; not owned
	done   chan struct{} // closed by Close, to stop pending dials
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func startTCPProxy(ns *os.File, host, target netip.AddrPort) (*tcpProxy, error) {
	ln, err := listenIn(ns, func() (net.Listener, error) { return net.Listen("tcp", host.String()) })
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{ln: ln, target: target, ns: ns, conns: map[net.Conn]struct{}{}}
	p.done = make(chan struct{})
	p.wg.Go(p.serve)
	return p, nil
}

// addr returns the address the proxy listens on.
func (p *tcpProxy) addr() netip.AddrPort { return p.ln.Addr().(*net.TCPAddr).AddrPort() }

func (p *tcpProxy) serve() {
	backoff := 5 * time.Millisecond
	for {
		c, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// EMFILE and the like: keep serving once resources free up.
			select {
			case <-p.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !p.track(c) {
			c.Close()
			return
		}
		p.wg.Go(func() { p.relay(c) })
	}
}

// track registers c, or reports false if the proxy is closing.
func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *tcpProxy) relay(client net.Conn) {
	defer p.untrack(client)
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-stop:
		}
	}()
	var d net.Dialer
	server, err := listenIn(p.ns, func() (net.Conn, error) {
		return d.DialContext(ctx, "tcp", p.target.String())
	})
	if err != nil {
		return // the client sees its connection closed
	}
	if !p.track(server) {
		server.Close()
		return
	}
	defer p.untrack(server)
	var wg sync.WaitGroup
	wg.Go(func() { pipe(server, client) })
	pipe(client, server)
	wg.Wait()
}

// pipe copies src to dst, then half-closes dst so the peer sees EOF.
func pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		dst.Close()
	}
}

// Close stops accepting, closes every open connection and waits for the
// relays to end.
func (p *tcpProxy) Close() error {
	p.mu.Lock()
	if !p.closed {
		close(p.done)
	}
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// udpProxy receives datagrams on the host port and forwards each client's
// datagrams over a socket of its own to the container, so that replies
// find their way back.
type udpProxy struct {
	pc     *net.UDPConn
	target netip.AddrPort
	ns     *os.File
	wg     sync.WaitGroup
	mu     sync.Mutex
	flows  map[netip.AddrPort]*net.UDPConn
	closed bool
}

func startUDPProxy(ns *os.File, host, target netip.AddrPort) (*udpProxy, error) {
	pc, err := listenIn(ns, func() (*net.UDPConn, error) {
		return net.ListenUDP("udp", net.UDPAddrFromAddrPort(host))
	})
	if err != nil {
		return nil, err
	}
	p := &udpProxy{pc: pc, target: target, ns: ns, flows: map[netip.AddrPort]*net.UDPConn{}}
	p.wg.Go(p.serve)
	return p, nil
}

func (p *udpProxy) addr() netip.AddrPort { return p.pc.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *udpProxy) serve() {
	buf := make([]byte, 65535)
	for {
		n, client, err := p.pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP errors reported on the socket
		}
		flow, err := p.flow(client)
		if err != nil {
			continue // dropped, as a router would
		}
		_, _ = flow.Write(buf[:n])
	}
}

// flow returns the socket for client's datagrams, creating it and its reply
// relay if needed.
func (p *udpProxy) flow(client netip.AddrPort) (*net.UDPConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, net.ErrClosed
	}
	if c, ok := p.flows[client]; ok {
		return c, nil
	}
	if len(p.flows) >= maxUDPFlows {
		return nil, fmt.Errorf("%d UDP flows open: %w", len(p.flows), syscall.EAGAIN)
	}
	c, err := listenIn(p.ns, func() (*net.UDPConn, error) {
		return net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(p.target))
	})
	if err != nil {
		return nil, fmt.Errorf("dialing %v: %w", p.target, err)
	}
	p.flows[client] = c
	p.wg.Go(func() { p.replies(client, c) })
	return c, nil
}

// replies relays the container's answers to client until the flow has
// been idle for udpIdle or the proxy closes.
func (p *udpProxy) replies(client netip.AddrPort, c *net.UDPConn) {
	defer func() {
		p.mu.Lock()
		delete(p.flows, client)
		p.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, 65535)
	for {
		_ = c.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && !ne.Timeout() && !errors.Is(err, net.ErrClosed) {
				continue // ICMP port unreachable and the like
			}
			return
		}
		_, _ = p.pc.WriteToUDPAddrPort(buf[:n], client)
	}
}

// Close stops the proxy, closes every flow and waits for the relays.
func (p *udpProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	err := p.pc.Close()
	for _, c := range p.flows {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
