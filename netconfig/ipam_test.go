package netconfig

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestIPAM(t testing.TB, opts ...IPAMOption) *IPAM {
	t.Helper()
	m, err := NewIPAM(t.TempDir(), opts...)
	require.NoError(t, err)
	return m
}

func mustPool(t testing.TB, m *IPAM, name string, prefixes ...string) Pool {
	t.Helper()
	p := Pool{Name: name}
	for _, s := range prefixes {
		p.Subnets = append(p.Subnets, Subnet{Prefix: netip.MustParsePrefix(s)})
	}
	p, err := m.CreatePool(t.Context(), p)
	require.NoError(t, err)
	return p
}

func TestCreatePoolErrors(t *testing.T) {
	pfx := netip.MustParsePrefix
	tests := []struct {
		name string
		pool Pool
		want error
	}{
		{"no subnet", Pool{Name: "a"}, fs.ErrInvalid},
		{"bad name", Pool{Name: "../x", Subnets: []Subnet{{Prefix: pfx("10.9.0.0/24")}}}, fs.ErrInvalid},
		{"dot name", Pool{Name: ".hidden", Subnets: []Subnet{{Prefix: pfx("10.9.0.0/24")}}}, fs.ErrInvalid},
		{"zero prefix", Pool{Name: "a", Subnets: []Subnet{{}}}, fs.ErrInvalid},
		{"host bits", Pool{Name: "a", Subnets: []Subnet{{Prefix: pfx("10.9.0.1/24")}}}, fs.ErrInvalid},
		{"too small v4", Pool{Name: "a", Subnets: []Subnet{{Prefix: pfx("10.9.0.0/31")}}}, fs.ErrInvalid},
		{"too small v6", Pool{Name: "a", Subnets: []Subnet{{Prefix: pfx("fd00::/127")}}}, fs.ErrInvalid},
		{"gateway outside", Pool{Name: "a", Subnets: []Subnet{{Prefix: pfx("10.9.0.0/24"), Gateway: netip.MustParseAddr("10.9.1.1")}}}, fs.ErrInvalid},
		{"gateway broadcast", Pool{Name: "a", Subnets: []Subnet{{Prefix: pfx("10.9.0.0/24"), Gateway: netip.MustParseAddr("10.9.0.255")}}}, fs.ErrInvalid},
		{"overlap inside", Pool{Name: "a", Subnets: []Subnet{{Prefix: pfx("10.9.0.0/16")}, {Prefix: pfx("10.9.3.0/24")}}}, ErrOverlap},
		{"overlap other pool", Pool{Name: "b", Subnets: []Subnet{{Prefix: pfx("10.1.128.0/17")}}}, ErrOverlap},
		{"same name other subnets", Pool{Name: "base", Subnets: []Subnet{{Prefix: pfx("10.2.0.0/16")}}}, fs.ErrExist},
	}
	m := newTestIPAM(t)
	mustPool(t, m, "base", "10.1.0.0/16")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.CreatePool(t.Context(), tt.pool)
			require.ErrorIs(t, err, tt.want)
			pools, err := m.Pools(t.Context())
			require.NoError(t, err)
			assert.Len(t, pools, 1, "a failed CreatePool must leave nothing behind")
		})
	}
}

func TestCreatePoolIdempotent(t *testing.T) {
	m := newTestIPAM(t)
	p := mustPool(t, m, "net", "10.1.0.0/16", "fd00:1::/64")
	assert.Equal(t, netip.MustParseAddr("10.1.0.1"), p.Subnets[0].Gateway)
	assert.Equal(t, netip.MustParseAddr("fd00:1::1"), p.Subnets[1].Gateway)
	again := mustPool(t, m, "net", "10.1.0.0/16", "fd00:1::/64")
	assert.Equal(t, p, again)
	got, err := m.Pool(t.Context(), "net")
	require.NoError(t, err)
	assert.Equal(t, p, got)
	_, err = m.Pool(t.Context(), "missing")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestAllocateInOrderAndExhaust(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "small", "10.3.0.0/29") // .1 gateway, .7 broadcast: .2 to .6 usable
	var got []string
	for i := range 5 {
		l, err := m.Allocate(t.Context(), "small", fmt.Sprint("c", i))
		require.NoError(t, err)
		require.Len(t, l.Addresses, 1)
		assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.3.0.1")}, l.Gateways)
		got = append(got, l.Addresses[0].String())
	}
	assert.Equal(t, []string{"10.3.0.2/29", "10.3.0.3/29", "10.3.0.4/29", "10.3.0.5/29", "10.3.0.6/29"}, got)

	_, err := m.Allocate(t.Context(), "small", "c5")
	require.ErrorIs(t, err, ErrExhausted)
	leases, err := m.Leases(t.Context(), "small")
	require.NoError(t, err)
	assert.Len(t, leases, 5, "a failed Allocate records nothing")

	_, err = m.Allocate(t.Context(), "small", "c1")
	require.ErrorIs(t, err, fs.ErrExist, "one lease per owner")

	require.NoError(t, m.Release(t.Context(), "small", "c2"))
	l, err := m.Allocate(t.Context(), "small", "c5")
	require.NoError(t, err)
	assert.Equal(t, "10.3.0.4/29", l.Addresses[0].String(), "the only free address, after wrapping")

	err = m.Release(t.Context(), "small", "c2")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestReleasedAddressNotReusedBeforeCycle(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "net", "10.4.0.0/24")
	seen := map[netip.Prefix]bool{}
	for i := range 253 { // every usable address once
		owner := fmt.Sprint("c", i)
		l, err := m.Allocate(t.Context(), "net", owner)
		require.NoError(t, err)
		require.False(t, seen[l.Addresses[0]], "address %v reused before the pool cycled", l.Addresses[0])
		seen[l.Addresses[0]] = true
		require.NoError(t, m.Release(t.Context(), "net", owner))
	}
	l, err := m.Allocate(t.Context(), "net", "again")
	require.NoError(t, err)
	assert.Equal(t, "10.4.0.2/24", l.Addresses[0].String(), "the pool cycles back to its start")
}

func TestAllocateDualStack(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "dual", "10.5.0.0/16", "fd00:5::/64")
	l, err := m.Allocate(t.Context(), "dual", "c")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.5.0.2/16"), netip.MustParsePrefix("fd00:5::2/64")}, l.Addresses)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("10.5.0.1"), netip.MustParseAddr("fd00:5::1")}, l.Gateways)
	assert.Equal(t, os.Getpid(), l.PID)
	assert.True(t, ProcessAlive(l))
}

func TestAllocateConcurrent(t *testing.T) {
	dir := t.TempDir()
	m1, err := NewIPAM(dir)
	require.NoError(t, err)
	m2, err := NewIPAM(dir) // a second instance: the flock must exclude it too
	require.NoError(t, err)
	mustPool(t, m1, "net", "10.6.0.0/24", "fd00:6::/120")

	var mu sync.Mutex
	held := map[netip.Prefix]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		m := m1
		if g%2 == 1 {
			m = m2
		}
		wg.Go(func() {
			for i := range 25 {
				owner := fmt.Sprintf("g%d-%d", g, i)
				l, err := m.Allocate(t.Context(), "net", owner)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				for _, a := range l.Addresses {
					if other, dup := held[a]; dup {
						errs <- fmt.Errorf("address %v handed to %s and %s", a, other, owner)
					}
					held[a] = owner
				}
				mu.Unlock()
				mu.Lock()
				for _, a := range l.Addresses {
					delete(held, a)
				}
				mu.Unlock()
				if err := m.Release(t.Context(), "net", owner); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	leases, err := m1.Leases(t.Context(), "net")
	require.NoError(t, err)
	assert.Empty(t, leases)
}

func TestReclaimWithOwnerCheck(t *testing.T) {
	m := newTestIPAM(t, WithOwnerCheck(func(l Lease) bool { return !strings.HasPrefix(l.Owner, "dead") }))
	mustPool(t, m, "net", "10.7.0.0/24")
	for _, o := range []string{"alive1", "dead1", "alive2", "dead2"} {
		_, err := m.Allocate(t.Context(), "net", o)
		require.NoError(t, err)
	}
	freed, err := m.Reclaim(t.Context(), "net")
	require.NoError(t, err)
	var owners []string
	for _, l := range freed {
		owners = append(owners, l.Owner)
	}
	assert.ElementsMatch(t, []string{"dead1", "dead2"}, owners)
	leases, err := m.Leases(t.Context(), "net")
	require.NoError(t, err)
	require.Len(t, leases, 2)
	assert.Equal(t, "alive1", leases[0].Owner)
	assert.Equal(t, "alive2", leases[1].Owner)
	freed, err = m.Reclaim(t.Context(), "net")
	require.NoError(t, err)
	assert.Empty(t, freed)
}

// TestHelperAllocate is not a test: run as a child process by
// TestReclaimKilledProcess, it takes a lease and waits to be killed.
func TestHelperAllocate(t *testing.T) {
	dir := os.Getenv("NETCONFIG_HELPER_IPAM")
	if dir == "" {
		t.Skip("helper process")
	}
	m, err := NewIPAM(dir)
	require.NoError(t, err)
	_, err = m.Allocate(context.Background(), "net", "victim")
	require.NoError(t, err)
	fmt.Println("allocated")
	time.Sleep(time.Minute)
}

// TestHelperAllocateMany is not a test: run as a child process by
// TestAllocateAcrossProcesses, it takes 25 leases and releases every
// other one, racing its siblings for the pool's file lock.
func TestHelperAllocateMany(t *testing.T) {
	dir, me := os.Getenv("NETCONFIG_HELPER_IPAM_MANY"), os.Getenv("NETCONFIG_HELPER_ID")
	if dir == "" {
		t.Skip("helper process")
	}
	m, err := NewIPAM(dir)
	require.NoError(t, err)
	for i := range 25 {
		owner := fmt.Sprintf("%s-%d", me, i)
		_, err := m.Allocate(context.Background(), "net", owner)
		require.NoError(t, err)
		if i%2 == 1 {
			require.NoError(t, m.Release(context.Background(), "net", owner))
		}
	}
}

func TestAllocateAcrossProcesses(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "net", "10.14.0.0/16", "fd00:14::/64")
	var cmds []*exec.Cmd
	for i := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAllocateMany$")
		cmd.Env = append(os.Environ(), "NETCONFIG_HELPER_IPAM_MANY="+m.Dir(), fmt.Sprint("NETCONFIG_HELPER_ID=p", i))
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}
	leases, err := m.Leases(t.Context(), "net")
	require.NoError(t, err)
	assert.Len(t, leases, 4*13, "no lease lost to a racing writer")
	seen := map[netip.Prefix]string{}
	for _, l := range leases {
		for _, a := range l.Addresses {
			require.NotContains(t, seen, a, "address %v handed to %s and %s", a, seen[a], l.Owner)
			seen[a] = l.Owner
		}
	}
}

func TestReclaimKilledProcess(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "net", "10.8.0.0/30") // a single usable address
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAllocate$", "-test.v")
	cmd.Env = append(os.Environ(), "NETCONFIG_HELPER_IPAM="+m.Dir())
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 4096)
	var got string
	for !strings.Contains(got, "allocated") {
		n, err := out.Read(buf)
		require.NoError(t, err, "helper output so far: %s", got)
		got += string(buf[:n])
	}

	leases, err := m.Leases(t.Context(), "net")
	require.NoError(t, err)
	require.Len(t, leases, 1)
	assert.Equal(t, cmd.Process.Pid, leases[0].PID)
	assert.True(t, ProcessAlive(leases[0]))
	freed, err := m.Reclaim(t.Context(), "net")
	require.NoError(t, err)
	assert.Empty(t, freed, "the helper is alive")

	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	assert.False(t, ProcessAlive(leases[0]))
	// The pool is full; Allocate reclaims the dead helper's lease by itself.
	l, err := m.Allocate(t.Context(), "net", "successor")
	require.NoError(t, err)
	assert.Equal(t, "10.8.0.2/30", l.Addresses[0].String())
	leases, err = m.Leases(t.Context(), "net")
	require.NoError(t, err)
	require.Len(t, leases, 1)
	assert.Equal(t, "successor", leases[0].Owner)
}

func TestAllocateWaitsForLockUntilCancelled(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "net", "10.10.0.0/24")
	_, unlock, err := lockFile(t.Context(), m.poolFile("net"), os.O_RDWR)
	require.NoError(t, err)
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	_, err = m.Allocate(ctx, "net", "c")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestDeletePool(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "net", "10.11.0.0/24")
	_, err := m.Allocate(t.Context(), "net", "c")
	require.NoError(t, err)
	require.ErrorIs(t, m.DeletePool(t.Context(), "net"), syscall.EBUSY)
	require.NoError(t, m.Release(t.Context(), "net", "c"))
	require.NoError(t, m.DeletePool(t.Context(), "net"))
	require.ErrorIs(t, m.DeletePool(t.Context(), "net"), fs.ErrNotExist)
	// The subnet is free again for another pool.
	mustPool(t, m, "other", "10.11.0.0/16")
}

func TestPoolFileSurvivesTrailingBytes(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "net", "10.12.0.0/24")
	for _, o := range []string{"a", "b", "c"} {
		_, err := m.Allocate(t.Context(), "net", o)
		require.NoError(t, err)
	}
	// A process that died after writing a shorter state but before
	// truncating leaves the end of the longer one behind.
	require.NoError(t, m.Release(t.Context(), "net", "b"))
	data, err := os.ReadFile(m.poolFile("net"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(m.poolFile("net"), append(data, []byte(`"owner":"x"}]}`)...), 0o600))
	leases, err := m.Leases(t.Context(), "net")
	require.NoError(t, err)
	require.Len(t, leases, 2)
	l, err := m.Allocate(t.Context(), "net", "d")
	require.NoError(t, err)
	assert.Equal(t, "10.12.0.5/24", l.Addresses[0].String())
}

func TestDeletedPoolWhileWaiting(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "net", "10.13.0.0/24")
	// Another process holds the flock (a second open file description).
	f, err := os.OpenFile(m.poolFile("net"), os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX))
	done := make(chan error, 1)
	go func() { _, err := m.Allocate(context.Background(), "net", "c"); done <- err }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, os.Remove(m.poolFile("net"))) // deleted by the holder
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_UN))
	require.ErrorIs(t, <-done, fs.ErrNotExist, "an allocation in a deleted pool must fail")
}

func TestDamagedPoolFile(t *testing.T) {
	m := newTestIPAM(t)
	mustPool(t, m, "net", "10.15.0.0/24")
	for _, content := range []string{`{"pool":{"name":"net","subnets":[{}]}}`, `{"pool":{"name":"other"}}`, `not json`} {
		require.NoError(t, os.WriteFile(m.poolFile("net"), []byte(content), 0o600))
		_, err := m.Allocate(t.Context(), "net", "c")
		assert.Error(t, err, content)
	}
}
