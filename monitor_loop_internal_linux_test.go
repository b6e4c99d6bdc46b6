package berth

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func newTestLoop(t *testing.T) *eventLoop {
	l, err := newEventLoop()
	require.NoError(t, err)
	t.Cleanup(l.close)
	return l
}

func TestEventLoopPumps(t *testing.T) {
	l := newTestLoop(t)
	const streams = 20
	// Each stream's buffer is read only after its eof, which the loop
	// sends after its last write.
	outs := make([]*bytes.Buffer, streams)
	ws := make([]*os.File, streams)
	eofs := make(chan int, streams)
	for i := range streams {
		r, w, err := os.Pipe()
		require.NoError(t, err)
		fd, err := unix.Dup(int(r.Fd()))
		require.NoError(t, err)
		r.Close()
		outs[i], ws[i] = &bytes.Buffer{}, w
		require.NoError(t, l.pump(fd, outs[i], func() { eofs <- i }))
	}
	// More than the loop's buffer in one stream, small writes in the others.
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<10)
	for i, w := range ws {
		msg := []byte("line one\nline two\n")
		if i == 0 {
			msg = big
		}
		go func() {
			_, _ = w.Write(msg)
			w.Close()
		}()
	}
	seen := map[int]bool{}
	for range streams {
		select {
		case i := <-eofs:
			assert.False(t, seen[i], "stream %d ended twice", i)
			seen[i] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d streams ended", len(seen), streams)
		}
	}
	assert.Equal(t, string(big), outs[0].String())
	for i := 1; i < streams; i++ {
		assert.Equal(t, "line one\nline two\n", outs[i].String(), "stream %d", i)
	}
	l.mu.Lock()
	assert.Len(t, l.watches, 1, "only the wake-up descriptor is left")
	l.mu.Unlock()
}

func TestEventLoopOnExit(t *testing.T) {
	l := newTestLoop(t)
	cmd := exec.Command("sleep", "0.2")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	require.NoError(t, err)
	defer unix.Close(pidfd)
	exited := make(chan struct{})
	require.NoError(t, l.onExit(pidfd, func() { close(exited) }))
	select {
	case <-exited:
		t.Fatal("exit reported while the process runs")
	case <-time.After(50 * time.Millisecond):
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("exit not reported")
	}
	var info unix.Siginfo
	require.NoError(t, unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED|unix.WNOHANG, nil),
		"the loop leaves the zombie to its parent")
	assert.Equal(t, int32(unix.SIGCHLD), info.Signo)
}

func TestEventLoopClose(t *testing.T) {
	l, err := newEventLoop()
	require.NoError(t, err)
	l.close()
	closed := func(fd int) bool {
		_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		return err == unix.EBADF
	}
	assert.Eventually(t, func() bool { return closed(l.epfd) && closed(l.wake) }, 5*time.Second, 10*time.Millisecond,
		"the loop's epoll and eventfd descriptors are closed")
}
