package netconfig

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
)

// DNS configures a container's /etc/resolv.conf.
type DNS struct {
	// Servers are the name servers. Nil: the host's, leaving out loopback
	// and link-local ones, which do not answer inside the container's
	// namespace; if none remain, Google's public servers (8.8.8.8 and
	// 8.8.4.4), as Docker does.
	Servers []netip.Addr
	// Search are the search domains. Nil: the host's.
	Search []string
	// Options are resolver options such as "ndots:2". Nil: the host's.
	Options []string
}

func (d DNS) clone() DNS {
	d.Servers = slices.Clone(d.Servers)
	d.Search = slices.Clone(d.Search)
	d.Options = slices.Clone(d.Options)
	return d
}

// Host is an extra /etc/hosts entry.
type Host struct {
	// Addr is the entry's address; required.
	Addr netip.Addr
	// Names are the host names for Addr; at least one.
	Names []string
}

// Files are the contents of a container's /etc/hosts, /etc/resolv.conf
// and /etc/hostname, ready to be written into its root filesystem.
type Files struct {
	// Hosts is the content of /etc/hosts.
	Hosts []byte
	// ResolvConf is the content of /etc/resolv.conf.
	ResolvConf []byte
	// Hostname is the content of /etc/hostname.
	Hostname []byte
}

// defaultServers are the name servers used when neither the Config nor the
// host offers a usable one.
var defaultServers = []netip.Addr{netip.AddrFrom4([4]byte{8, 8, 8, 8}), netip.AddrFrom4([4]byte{8, 8, 4, 4})}

// EtcFiles returns the /etc files for cfg, usually the resolved Config of
// an [Attachment] so that /etc/hosts maps the host name to the leased
// addresses. hostResolvConf is the host's resolv.conf (usually
// /etc/resolv.conf; on hosts running systemd-resolved pass
// /run/systemd/resolve/resolv.conf, since the stub at 127.0.0.53 does not
// answer in the container); nil means there is none. Errors wrap
// fs.ErrInvalid for a bad host name or hosts entry.
func EtcFiles(cfg Config, hostResolvConf io.Reader) (Files, error) {
	name := cfg.Hostname
	if name == "" && cfg.ID != "" {
		name = cfg.withDefaults().Hostname
	}
	var addrs []netip.Addr
	for _, ifc := range cfg.Interfaces {
		for _, a := range ifc.Addresses {
			addrs = append(addrs, a.Addr())
		}
	}
	hosts, err := HostsFile(name, addrs, cfg.Hosts)
	if err != nil {
		return Files{}, err
	}
	resolv, err := ResolvConf(hostResolvConf, cfg.DNS)
	if err != nil {
		return Files{}, err
	}
	hn, err := HostnameFile(name)
	if err != nil {
		return Files{}, err
	}
	return Files{Hosts: hosts, ResolvConf: resolv, Hostname: hn}, nil
}

// HostnameFile returns the content of /etc/hostname for name. A name that
// is not a valid host name (RFC 1123 labels, at most 64 bytes) wraps
// fs.ErrInvalid.
func HostnameFile(name string) ([]byte, error) {
	if err := validHostname(name); err != nil {
		return nil, err
	}
	return []byte(name + "\n"), nil
}

// HostsFile returns the content of /etc/hosts: the loopback and IPv6
// multicast entries, hostname for each of addrs, then the extra entries.
// An empty hostname adds no entries for addrs.
func HostsFile(hostname string, addrs []netip.Addr, extra []Host) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::\tip6-localnet\n" +
		"ff00::\tip6-mcastprefix\n" +
		"ff02::1\tip6-allnodes\n" +
		"ff02::2\tip6-allrouters\n")
	if hostname != "" {
		if err := validHostname(hostname); err != nil {
			return nil, err
		}
		for _, a := range addrs {
			fmt.Fprintf(&b, "%s\t%s\n", a, hostname)
		}
	}
	for _, h := range extra {
		if !h.Addr.IsValid() || len(h.Names) == 0 {
			return nil, fmt.Errorf("hosts entry %v %v: address and a name required: %w", h.Addr, h.Names, fs.ErrInvalid)
		}
		for _, n := range h.Names {
			if err := validHostname(n); err != nil {
				return nil, fmt.Errorf("hosts entry %v: %w", h.Addr, err)
			}
		}
		fmt.Fprintf(&b, "%s\t%s\n", h.Addr, strings.Join(h.Names, " "))
	}
	return b.Bytes(), nil
}

// ResolvConf returns the content of /etc/resolv.conf: the fields of dns,
// with nil fields taken from host (the host's resolv.conf, nil for none)
// as [DNS] describes. Only nameserver, search, domain and options lines of
// host are used.
func ResolvConf(host io.Reader, dns DNS) ([]byte, error) {
	var hostDNS DNS
	if host != nil {
		var err error
		if hostDNS, err = parseResolvConf(host); err != nil {
			return nil, fmt.Errorf("reading host resolv.conf: %w", err)
		}
	}
	servers := dns.Servers
	if servers == nil {
		for _, s := range hostDNS.Servers {
			if !s.IsLoopback() && !s.IsLinkLocalUnicast() {
				servers = append(servers, s)
			}
		}
		if len(servers) == 0 {
			servers = defaultServers
		}
	}
	search, options := dns.Search, dns.Options
	if search == nil {
		search = hostDNS.Search
	}
	if options == nil {
		options = hostDNS.Options
	}
	var b bytes.Buffer
	for _, s := range servers {
		if !s.IsValid() {
			return nil, fmt.Errorf("name server %v: %w", s, fs.ErrInvalid)
		}
		fmt.Fprintf(&b, "nameserver %s\n", s.WithZone(""))
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.Bytes(), nil
}

// parseResolvConf reads the nameserver, search, domain and options lines
// of a resolv.conf. Unparsable name servers are skipped, as the C resolver
// does.
func parseResolvConf(r io.Reader) (DNS, error) {
	var d DNS
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil {
				d.Servers = append(d.Servers, a)
			}
		case "search", "domain": // the last of them wins, as in the C resolver
			d.Search = f[1:]
		case "options":
			d.Options = append(d.Options, f[1:]...)
		}
	}
	return d, sc.Err()
}

// validHostname checks name against RFC 1123 and the kernel's 64-byte
// limit.
func validHostname(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("host name %q: want 1 to 64 bytes: %w", name, fs.ErrInvalid)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host name %q: bad label %q: %w", name, label, fs.ErrInvalid)
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("host name %q: byte %q not allowed: %w", name, c, fs.ErrInvalid)
			}
		}
	}
	return nil
}
