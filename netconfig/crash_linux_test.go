package netconfig

import (
	"bufio"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelperAttachAndHang is not a test: run as a child process by
// TestRecoverFromKilledProcess with the host and container namespaces as
// fds 3 and 4, it attaches, prints the resolved Config and waits to be
// killed.
func TestHelperAttachAndHang(t *testing.T) {
	ipamDir := os.Getenv("NETCONFIG_HELPER_ATTACH")
	if ipamDir == "" {
		t.Skip("helper process")
	}
	host, ctr := os.NewFile(3, "host"), os.NewFile(4, "container")
	a, err := Attach(context.Background(), host, ctr, Config{ID: "victim", IPAM: ipamDir,
		Interfaces: []Interface{{Bridge: "br0", Pool: "net"}}, Ports: []Port{{ContainerPort: 80}}})
	require.NoError(t, err)
	require.NoError(t, json.NewEncoder(os.Stdout).Encode(a.Config()))
	time.Sleep(time.Minute)
}

// A runtime killed after attaching leaves a lease and a veth behind: the
// lease is reclaimed because its process is dead, and Detach from the
// resolved Config, as the runtime had stored it, removes the rest.
func TestRecoverFromKilledProcess(t *testing.T) {
	requireNetPrivileges(t)
	testutil.CheckLeaks(t)
	n := newTestNet(t, "10.49.0.0/24")
	ctr := newNetNS(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAttachAndHang$")
	cmd.Env = append(os.Environ(), "NETCONFIG_HELPER_ATTACH="+n.ipam.Dir())
	cmd.ExtraFiles = []*os.File{n.host, ctr}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var resolved Config
	require.NoError(t, json.NewDecoder(bufio.NewReader(out)).Decode(&resolved))
	assert.Equal(t, []string{"lo", "br0", resolved.Interfaces[0].HostName}, linkNames(t, n.host))
	leases, err := n.ipam.Leases(t.Context(), "net")
	require.NoError(t, err)
	require.Len(t, leases, 1)
	assert.Equal(t, cmd.Process.Pid, leases[0].PID)

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	freed, err := n.ipam.Reclaim(t.Context(), "net")
	require.NoError(t, err)
	require.Len(t, freed, 1)
	assert.Equal(t, "victim", freed[0].Owner)
	require.NoError(t, Detach(t.Context(), n.host, resolved))
	n.requireClean(t, ctr)
	// The killed process's proxy died with it: the port is free again.
	echoServer(t, n.host, "tcp", netip.AddrPortFrom(netip.IPv4Unspecified(), resolved.Ports[0].HostPort).String())
}
