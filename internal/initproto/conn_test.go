//go:build linux

package initproto

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	pf, cf, err := Socketpair()
	require.NoError(t, err)
	p, err := NewConn(pf)
	require.NoError(t, err)
	c, err := NewConn(cf)
	require.NoError(t, err)
	require.NoError(t, pf.Close())
	require.NoError(t, cf.Close())
	t.Cleanup(func() { p.Close(); c.Close() })
	return p, c
}

func TestRoundTrip(t *testing.T) {
	p, c := pair(t)
	want := Process{Args: []string{"/bin/sh", "-c", "echo hi"}, Env: []string{"A=B"}, Caps: []int{0, 1}, CapLast: 40,
		Rlimits: []Rlimit{{Type: 7, Soft: 1024, Hard: 1024}}, NoNewPrivileges: true}
	require.NoError(t, p.Send(want))
	var got Process
	files, err := c.Recv(&got)
	require.NoError(t, err)
	assert.Empty(t, files)
	assert.Equal(t, want, got)
}

func TestFilesTravel(t *testing.T) {
	p, c := pair(t)
	path := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(path, []byte("through the socket"), 0o600))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, c.Send(Message{Type: "pty"}, f))
	var m Message
	files, err := p.Recv(&m)
	require.NoError(t, err)
	require.Len(t, files, 1)
	defer files[0].Close()
	data, err := io.ReadAll(files[0])
	require.NoError(t, err)
	assert.Equal(t, "through the socket", string(data))
	flags, err := fcntlGetfd(files[0])
	require.NoError(t, err)
	assert.NotZero(t, flags&syscall.FD_CLOEXEC, "received fds are close-on-exec")
}

func TestEOFAndTruncation(t *testing.T) {
	p, c := pair(t)
	require.NoError(t, c.Close())
	var m Message
	_, err := p.Recv(&m)
	require.ErrorIs(t, err, io.EOF)

	p, c = pair(t)
	_, err = c.c.Write([]byte{0, 0, 0, 10, '{'})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, err = p.Recv(&m)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)

	p, c = pair(t)
	_, err = c.c.Write([]byte{0xff, 0, 0, 0})
	require.NoError(t, err)
	_, err = p.Recv(&m)
	require.Error(t, err)
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		is   []error
	}{
		{"errno", &fs.PathError{Op: "mount", Path: "/x", Err: syscall.EPERM}, []error{syscall.EPERM, fs.ErrPermission}},
		{"category", errors.Join(errors.New("user \"ghost\""), fs.ErrNotExist), []error{fs.ErrNotExist}},
		{"enoent", &fs.PathError{Op: "exec", Path: "/nope", Err: syscall.ENOENT}, []error{syscall.ENOENT, fs.ErrNotExist}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ErrorMessage(StageExec, tt.err)
			p, c := pair(t)
			require.NoError(t, c.Send(m))
			var got Message
			_, err := p.Recv(&got)
			require.NoError(t, err)
			rerr := got.Err()
			assert.Equal(t, tt.err.Error(), rerr.Error())
			for _, target := range tt.is {
				assert.ErrorIs(t, rerr, target)
			}
			assert.NotErrorIs(t, rerr, fs.ErrExist)
		})
	}
	assert.NoError(t, Message{Type: "exec"}.Err())
}
