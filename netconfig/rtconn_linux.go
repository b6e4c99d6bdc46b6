package netconfig

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// rtConn is a route netlink socket for what vishvananda/netlink cannot
// express: a veth pair created with its master, flags and queues in one
// message, and several requests sent in one system call. The messages are
// built with the library's nl types; rtConn sends them, waits for the
// kernel's acknowledgement of each, and returns the kernel's other replies
// (NLM_F_ECHO, GET requests). It is safe for concurrent use: exchanges are
// serialised.
//
// The socket is blocking: the kernel answers a request before sendmsg
// returns, so a receive waits only for the acknowledgements already queued.
type rtConn struct {
	mu  sync.Mutex
	fd  int
	seq uint32
	buf []byte // receive buffer, allocated on first use
}

// rtBufSize bounds one received datagram. Replies here are single link,
// address or route messages and acknowledgements, far smaller.
const rtBufSize = 32 << 10

// openRTConn opens a route netlink socket in the calling thread's network
// namespace. timeout, if positive, bounds each send and receive.
func openRTConn(timeout time.Duration) (_ *rtConn, retErr error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	defer func() {
		if retErr != nil {
			unix.Close(fd)
		}
	}()
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	// Acknowledgements without the request's payload, but with the
	// kernel's error message.
	for _, opt := range []int{unix.NETLINK_CAP_ACK, unix.NETLINK_EXT_ACK} {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, opt, 1); err != nil {
			return nil, os.NewSyscallError("setsockopt", err)
		}
	}
	if timeout > 0 {
		tv := unix.NsecToTimeval(timeout.Nanoseconds())
		for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
			if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
				return nil, os.NewSyscallError("setsockopt", err)
			}
		}
	}
	return &rtConn{fd: fd}, nil
}

// close closes the socket; later exchanges fail with fs.ErrClosed.
func (c *rtConn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// rtReply is the outcome of one request: the kernel's error (nil on
// success) and the messages it sent besides the acknowledgement.
type rtReply struct {
	msgs []syscall.NetlinkMessage
	err  error
}

// do sends reqs in one sendmsg, each with NLM_F_ACK and a fresh sequence
// number, and collects the replies until every request is acknowledged.
// The kernel handles the requests in order and goes on after a failed one,
// so each reply carries its own error. The returned error is about the
// exchange itself (the socket), in which case the replies are nil.
func (c *rtConn) do(reqs ...*nl.NetlinkRequest) ([]rtReply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil, fmt.Errorf("netlink socket: %w", os.ErrClosed)
	}
	if c.buf == nil {
		c.buf = make([]byte, rtBufSize)
	}
	first := c.seq + 1
	var out []byte
	for _, r := range reqs {
		c.seq++
		r.Seq = c.seq
		r.Flags |= unix.NLM_F_REQUEST | unix.NLM_F_ACK
		out = append(out, r.Serialize()...)
	}
	if err := sendAll(c.fd, out); err != nil {
		return nil, err
	}
	replies := make([]rtReply, len(reqs))
	for pending := len(reqs); pending > 0; {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("recvfrom", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(c.buf[:n])
		if err != nil {
			return nil, fmt.Errorf("parsing netlink reply: %w", err)
		}
		for _, m := range msgs {
			// Sequence numbers wrap: an earlier one is far ahead of first.
			i := int(m.Header.Seq - first)
			if i >= len(reqs) {
				continue // a late reply to an earlier, failed exchange
			}
			if m.Header.Type != unix.NLMSG_ERROR {
				m.Data = append([]byte(nil), m.Data...) // c.buf is reused
				replies[i].msgs = append(replies[i].msgs, m)
				continue
			}
			replies[i].err = ackError(m.Header.Flags, m.Data)
			pending--
		}
	}
	return replies, nil
}

func sendAll(fd int, b []byte) error {
	for {
		err := unix.Sendto(fd, b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("sendto", err)
		}
		return nil
	}
}

// ackError decodes an acknowledgement: struct nlmsgerr (the errno and
// the request's header, followed by the request's payload unless
// NLM_F_CAPPED), then, with NLM_F_ACK_TLVS, attributes. It returns nil for
// success, else the errno annotated with the kernel's message if any.
func ackError(flags uint16, b []byte) error {
	if len(b) < 4+unix.SizeofNlMsghdr {
		return fmt.Errorf("short netlink acknowledgement: %w", unix.EBADMSG)
	}
	errno := -int32(nl.NativeEndian().Uint32(b))
	if errno == 0 {
		return nil
	}
	err := error(syscall.Errno(errno))
	if flags&unix.NLM_F_ACK_TLVS == 0 {
		return err
	}
	off := 4 + unix.SizeofNlMsghdr
	if flags&unix.NLM_F_CAPPED == 0 {
		off = 4 + nlmAlign(int(nl.NativeEndian().Uint32(b[4:])))
	}
	if off > len(b) {
		return err
	}
	attrs, perr := nl.ParseRouteAttr(b[off:])
	if perr != nil {
		return err
	}
	for _, a := range attrs {
		if a.Attr.Type == nl.NLMSGERR_ATTR_MSG {
			return fmt.Errorf("%w (%s)", err, unix.ByteSliceToString(a.Value))
		}
	}
	return err
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }
