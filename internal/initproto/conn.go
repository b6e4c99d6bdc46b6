package initproto

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// Conn is one end of the socketpair, framing JSON values with fds.
// It is not safe for concurrent use.
type Conn struct {
	c *net.UnixConn
}

// NewConn wraps a socket file as a Conn. The Conn holds its own duplicate:
// the caller still closes f.
func NewConn(f *os.File) (*Conn, error) {
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("wrapping init socket: %w", err)
	}
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		nc.Close()
		return nil, fmt.Errorf("init socket is a %T, not a unix socket", nc)
	}
	return &Conn{c: uc}, nil
}

// Close closes the Conn's descriptor.
func (c *Conn) Close() error { return c.c.Close() }

// UnixConn returns the underlying connection, for deadlines.
func (c *Conn) UnixConn() *net.UnixConn { return c.c }

// Send writes v as one frame, with files passed as SCM_RIGHTS.
func (c *Conn) Send(v any, files ...*os.File) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding frame: %w", err)
	}
	if len(data) > MaxFrame {
		return fmt.Errorf("frame of %d bytes exceeds %d", len(data), MaxFrame)
	}
	buf := make([]byte, 4+len(data))
	binary.BigEndian.PutUint32(buf, uint32(len(data)))
	copy(buf[4:], data)
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = int(f.Fd())
		}
		oob = syscall.UnixRights(fds...)
	}
	n, _, err := c.c.WriteMsgUnix(buf, oob, nil)
	if err != nil {
		return fmt.Errorf("sending frame: %w", err)
	}
	if n < len(buf) {
		if _, err := c.c.Write(buf[n:]); err != nil {
			return fmt.Errorf("sending frame: %w", err)
		}
	}
	return nil
}

// Recv reads one frame into v and returns the files that came with it,
// which the caller owns. At a clean end of stream it returns io.EOF.
func (c *Conn) Recv(v any) ([]*os.File, error) {
	hdr := make([]byte, 4)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	n, oobn, _, _, err := c.c.ReadMsgUnix(hdr, oob)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("receiving frame: %w", err)
	}
	if n == 0 {
		return nil, io.EOF
	}
	files, err := parseRights(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(c.c, hdr[n:]); err != nil {
		closeAll(files)
		return nil, fmt.Errorf("receiving frame header: %w", unexpected(err))
	}
	size := binary.BigEndian.Uint32(hdr)
	if size > MaxFrame {
		closeAll(files)
		return nil, fmt.Errorf("frame of %d bytes exceeds %d", size, MaxFrame)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(c.c, data); err != nil {
		closeAll(files)
		return nil, fmt.Errorf("receiving frame body: %w", unexpected(err))
	}
	if err := json.Unmarshal(data, v); err != nil {
		closeAll(files)
		return nil, fmt.Errorf("decoding frame: %w", err)
	}
	return files, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func parseRights(oob []byte) ([]*os.File, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parsing control message: %w", err)
	}
	var files []*os.File
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			closeAll(files)
			return nil, fmt.Errorf("parsing SCM_RIGHTS: %w", err)
		}
		for _, fd := range fds {
			syscall.CloseOnExec(fd)
			files = append(files, os.NewFile(uintptr(fd), "scm-rights"))
		}
	}
	return files, nil
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
