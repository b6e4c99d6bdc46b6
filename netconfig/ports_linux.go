package netconfig

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"
)

// natTag is the comment on the NAT rules of the attachment id.
func natTag(id string) string { return "berth:" + id }

// publishPorts starts forwarding cfg.Ports (resolved config, addresses
// leased) in host namespace ns. It fills in HostPorts chosen by the kernel
// and returns what must be closed on Detach. On error, nothing is left.
func publishPorts(ns *os.File, cfg *Config) (_ []publisher, retErr error) {
	var pubs []publisher
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, closeAll(pubs))
		}
	}()
	var rules []*nftables.Rule
	for i := range cfg.Ports {
		p := &cfg.Ports[i]
		target, err := portTarget(cfg, *p)
		if err != nil {
			return nil, err
		}
		host := netip.AddrPortFrom(p.HostIP, p.HostPort)
		var pub publisher
		var bound netip.AddrPort
		switch {
		case cfg.PortMode == PortNAT:
			var r *reservation
			r, err = reserve(ns, p.Proto, host)
			if err == nil {
				pub, bound = r, r.addr
			}
		case p.Proto == "tcp":
			var tp *tcpProxy
			tp, err = startTCPProxy(ns, host, target)
			if err == nil {
				pub, bound = tp, tp.addr()
			}
		default:
			var up *udpProxy
			up, err = startUDPProxy(ns, host, target)
			if err == nil {
				pub, bound = up, up.addr()
			}
		}
		if err != nil {
			return nil, fmt.Errorf("publishing %v: %w", *p, err)
		}
		pubs = append(pubs, pub)
		p.HostPort = bound.Port()
		if cfg.PortMode == PortNAT {
			rules = append(rules, dnatRules(*p, target, natTag(cfg.ID))...)
		}
	}
	if err := addRules(ns, rules); err != nil {
		return nil, fmt.Errorf("adding DNAT rules for %q: %w", cfg.ID, err)
	}
	return pubs, nil
}

func closeAll(pubs []publisher) error {
	var errs []error
	for i := len(pubs) - 1; i >= 0; i-- {
		errs = append(errs, pubs[i].Close())
	}
	return errors.Join(errs...)
}

// reservation is a socket bound (not listening) to a host port, so that
// nobody else takes the port that DNAT rules forward.
type reservation struct {
	fd   int
	addr netip.AddrPort
}

func reserve(ns *os.File, proto string, host netip.AddrPort) (*reservation, error) {
	domain, typ := unix.AF_INET, unix.SOCK_STREAM
	if host.Addr().Is6() {
		domain = unix.AF_INET6
	}
	if proto == "udp" {
		typ = unix.SOCK_DGRAM
	}
	fd := -1
	err := inNS(ns, func() error {
		var err error
		fd, err = unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		return nil
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, err
	}
	var sa unix.Sockaddr
	if domain == unix.AF_INET6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("setsockopt IPV6_V6ONLY", err)
		}
		sa = &unix.SockaddrInet6{Port: int(host.Port()), Addr: host.Addr().As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: int(host.Port()), Addr: host.Addr().As4()}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("reserving %s port %v: %w", proto, host, os.NewSyscallError("bind", err))
	}
	r := &reservation{fd: fd, addr: host}
	if host.Port() == 0 {
		got, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			return nil, os.NewSyscallError("getsockname", err)
		}
		switch s := got.(type) {
		case *unix.SockaddrInet4:
			r.addr = netip.AddrPortFrom(host.Addr(), uint16(s.Port))
		case *unix.SockaddrInet6:
			r.addr = netip.AddrPortFrom(host.Addr(), uint16(s.Port))
		}
	}
	return r, nil
}

// Close releases the port.
func (r *reservation) Close() error {
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}
