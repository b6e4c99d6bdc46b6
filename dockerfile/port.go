package dockerfile

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Port is one EXPOSE entry: a port or an inclusive range and a protocol.
type Port struct {
	Start, End uint16
	// Proto is "tcp", "udp" or "sctp", in lower case.
	Proto string
}

// String formats p as "80/tcp" or "8000-8010/udp".
func (p Port) String() string {
	if p.Start == p.End {
		return fmt.Sprintf("%d/%s", p.Start, p.Proto)
	}
	return fmt.Sprintf("%d-%d/%s", p.Start, p.End, p.Proto)
}

// ParsePort parses an EXPOSE word: "80", "80/tcp", "53/udp",
// "8000-8010/tcp". The protocol defaults to tcp and is matched in any
// case. Like BuildKit it also accepts, and checks, a host IP and host port
// ("127.0.0.1:8080:80/tcp"), which EXPOSE ignores: the result is the
// container port.
func ParsePort(s string) (Port, error) {
	ip, hostPort, cport := splitPortParts(s)
	p, err := parseContainerPort(s, cport)
	if err != nil {
		return Port{}, err
	}
	if ip != "" {
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		if _, err := netip.ParseAddr(ip); err != nil {
			return Port{}, errors.New("invalid IP address: " + ip)
		}
	}
	if hostPort != "" {
		h, err := parseContainerPort(s, hostPort+"/"+p.Proto)
		if err != nil {
			return Port{}, errors.New("invalid hostPort: " + hostPort)
		}
		if h.End-h.Start != p.End-p.Start && p.End != p.Start {
			return Port{}, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", cport, hostPort)
		}
	}
	return p, nil
}

func splitPortParts(s string) (ip, hostPort, containerPort string) {
	parts := strings.Split(s, ":")
	switch n := len(parts); n {
	case 1:
		return "", "", parts[0]
	case 2:
		return "", parts[0], parts[1]
	default:
		return strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
	}
}

func parseContainerPort(s, cport string) (Port, error) {
	port, proto, hasProto := strings.Cut(cport, "/")
	proto = strings.ToLower(proto)
	switch {
	case !hasProto:
		proto = "tcp"
	case proto != "tcp" && proto != "udp" && proto != "sctp":
		return Port{}, fmt.Errorf("invalid port: %q: invalid proto: %s", s, proto)
	}
	if port == "" {
		return Port{}, fmt.Errorf("invalid port: %q: no port specified", s)
	}
	start, end, isRange := strings.Cut(port, "-")
	lo, err := portNumber(start)
	if err != nil {
		return Port{}, fmt.Errorf("invalid containerPort: %s: invalid start port '%s': %w", port, start, err)
	}
	hi := lo
	if isRange && end != start {
		if hi, err = portNumber(end); err != nil {
			return Port{}, fmt.Errorf("invalid containerPort: %s: invalid end port '%s': %w", port, end, err)
		}
		if hi < lo {
			return Port{}, fmt.Errorf("invalid containerPort: %s: invalid port range", port)
		}
	}
	return Port{Start: lo, End: hi, Proto: proto}, nil
}

func portNumber(s string) (uint16, error) {
	if s == "" {
		return 0, errors.New("value is empty")
	}
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			return 0, ne.Err
		}
		return 0, err
	}
	return uint16(v), nil
}

// PortSpecs parses the ports of an EXPOSE whose words have no variables
// left (see [Scope.Apply] to expand them first).
func (e *Expose) PortSpecs() ([]Port, error) {
	out := make([]Port, 0, len(e.Ports))
	for _, w := range e.Ports {
		p, err := ParsePort(w)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
