package testutil

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Snapshot is what [TakeSnapshot] saw of the resources a test can leak. Each
// field is a sorted set of descriptions; [Snapshot.Leaks] compares two.
type Snapshot struct {
	// Mounts are "MOUNTPOINT FSTYPE SOURCE" of this mount namespace.
	Mounts []string
	// Cgroups are the cgroup directories with "berth" in their path, at
	// most four levels below each hierarchy's root, except the default
	// parent /berth itself, which Berth creates once and keeps.
	Cgroups []string
	// NetNS are the named network namespaces in /run/netns.
	NetNS []string
	// Links are the link names in the current network namespace.
	Links []string
	// FDs are "FD TARGET" of this process's open files, leaving out the
	// Go runtime's own (epoll, eventfd), the sealed re-exec copy of the
	// binary (memfd:berth-init) and a mask source (namespaces), which live
	// as long as the process.
	FDs []string
	// Procs are "PID ARGV0" of the processes this test process started:
	// its descendants, and processes that inherited its BERTH_TEST_PID
	// environment variable (a detached monitor that double-forked away).
	Procs []string
}

// Leaks lists what after holds that s did not: one line per resource,
// prefixed with its kind ("mount: /tmp/x tmpfs tmpfs").
func (s *Snapshot) Leaks(after *Snapshot) []string {
	var out []string
	add := func(kind string, before, now []string) {
		for _, x := range now {
			if !slices.Contains(before, x) {
				out = append(out, kind+": "+x)
			}
		}
	}
	add("mount", s.Mounts, after.Mounts)
	add("cgroup", s.Cgroups, after.Cgroups)
	add("netns", s.NetNS, after.NetNS)
	add("link", s.Links, after.Links)
	add("fd", s.FDs, after.FDs)
	add("process", s.Procs, after.Procs)
	return out
}

// leakGrace is how long CheckLeaks waits for resources that are being
// released (a process being reaped, a lazy unmount) before it reports them.
const leakGrace = 3 * time.Second

// CheckLeaks snapshots the resources a test can leak (see [Snapshot]) and
// registers a cleanup that fails t if any are new when the test ends. Call
// it first in a test, so that its cleanup runs after the test's own.
// Mounts, cgroups and named network namespaces are machine-wide, so tests
// that use it must not run in parallel with tests that create such
// resources, in this process or in another test binary (scripts/test runs
// go test -p 1).
func CheckLeaks(t testing.TB) {
	t.Helper()
	before, err := TakeSnapshot()
	if err != nil {
		t.Fatalf("leak check: %v", err)
	}
	t.Cleanup(func() {
		leaks, err := waitLeaks(before, leakGrace)
		if err != nil {
			t.Errorf("leak check: %v", err)
			return
		}
		if len(leaks) > 0 {
			t.Errorf("leak check: the test left %d resources behind:\n\t%s", len(leaks), strings.Join(leaks, "\n\t"))
		}
	})
}

func waitLeaks(before *Snapshot, grace time.Duration) ([]string, error) {
	deadline := time.Now().Add(grace)
	for {
		after, err := TakeSnapshot()
		if err != nil {
			return nil, err
		}
		leaks := before.Leaks(after)
		if len(leaks) == 0 || time.Now().After(deadline) {
			return leaks, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TakeSnapshot reads the current resources. It fails only when a source
// that always exists on Linux (/proc/self/mountinfo, /proc/self/fd) cannot
// be read.
func TakeSnapshot() (*Snapshot, error) {
	s, err := takeSnapshot()
	if err != nil {
		return nil, fmt.Errorf("taking resource snapshot: %w", err)
	}
	for _, l := range [][]string{s.Mounts, s.Cgroups, s.NetNS, s.Links, s.FDs, s.Procs} {
		slices.Sort(l)
	}
	return s, nil
}
