package netconfig

import (
	"errors"
	"fmt"
	"io"
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
}

// rtBufSize bounds one received datagram. Replies here are single link,
// address or route messages and acknowledgements, far smaller.
const rtBufSize = 32 << 10

// rtBufs holds receive buffers of rtBufSize bytes, shared by every rtConn:
// most connections live for one Attach, and allocating (and zeroing) a
// buffer for each cost more than the rest of their user-space work.
var rtBufs = sync.Pool{New: func() any { b := make([]byte, rtBufSize); return &b }}

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
	// Acknowledgements of failures with the kernel's error message. (The
	// socket needs no bind: the kernel binds it to a port of its choosing
	// on the first send.)
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1); err != nil {
		return nil, os.NewSyscallError("setsockopt", err)
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
	bp := rtBufs.Get().(*[]byte)
	defer rtBufs.Put(bp)
	replies := make([]rtReply, len(reqs))
	for pending := len(reqs); pending > 0; {
		// A read: only the kernel can send to this socket's port (other
		// senders need CAP_NET_ADMIN), so the source address is not needed.
		n, err := unix.Read(c.fd, *bp)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("read", err)
		}
		msgs, err := syscall.ParseNetlinkMessage((*bp)[:n])
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
				m.Data = append([]byte(nil), m.Data...) // the buffer is reused
				replies[i].msgs = append(replies[i].msgs, m)
				continue
			}
			replies[i].err = ackError(m.Header.Flags, m.Data)
			pending--
		}
	}
	return replies, nil
}

// sendAll writes b, requests for the kernel: an unconnected netlink
// socket sends to the kernel when no address is given.
func sendAll(fd int, b []byte) error {
	for {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("write", err)
		}
		if n != len(b) {
			return fmt.Errorf("netlink write: %d of %d bytes: %w", n, len(b), io.ErrShortWrite)
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
