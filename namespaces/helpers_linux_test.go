package namespaces_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/namespaces"
)

func init() {
	namespaces.Register("test-hold", holdEntrypoint)
}

// holdEntrypoint prints "ready", waits for stdin to close, then prints each
// /proc/self file named in os.Args[1:] as "name: content".
func holdEntrypoint(context.Context) error {
	fmt.Println("ready")
	if _, err := io.Copy(io.Discard, os.Stdin); err != nil {
		return err
	}
	for _, name := range os.Args[1:] {
		data, err := os.ReadFile("/proc/self/" + name)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s", name, data)
	}
	return nil
}

// held is a child process that holds namespaces open until release.
type held struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startHold starts test-hold in new namespaces k, after setup adjusted the
// command, and waits until it runs. The cleanup kills it if still running.
func startHold(t *testing.T, k namespaces.Kind, setup func(*exec.Cmd), files ...string) *held {
	t.Helper()
	cmd, err := namespaces.Command(t.Context(), "test-hold", k, files...)
	require.NoError(t, err)
	if setup != nil {
		setup(cmd)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &held{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		if h.cmd.ProcessState == nil {
			_ = h.cmd.Process.Kill()
			_ = h.cmd.Wait()
		}
	})
	line, err := h.out.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	return h
}

// release lets the child go on and returns what it printed.
func (h *held) release(t *testing.T) string {
	t.Helper()
	require.NoError(t, h.stdin.Close())
	rest, err := io.ReadAll(h.out)
	require.NoError(t, err)
	require.NoError(t, h.cmd.Wait())
	return strings.TrimSpace(string(rest))
}
