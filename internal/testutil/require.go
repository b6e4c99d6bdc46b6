// Package testutil holds the helpers Berth's tests share: the root and
// feature gates, the static test payload and the rootfs built around it, and
// the leak check. It is imported only from _test.go files.
//
// # Gates
//
// A privileged test calls [RequireRoot] on its first line, so that
// `grep -l RequireRoot` lists the privileged tests. A test that needs a
// kernel feature calls [RequireFeature] with the feature's name. Both skip
// on a developer's machine and fail where the environment promises the
// feature: under CI (CI set), with BERTH_TEST_ROOT=1, or when the name is
// listed in BERTH_TEST_EXPECT (comma-separated, "all" for every feature).
package testutil

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// RequireRoot skips t unless the effective uid is 0. When CI is set or
// BERTH_TEST_ROOT=1 it fails instead of skipping, so that a privileged test
// can never silently skip where it is meant to run.
func RequireRoot(t testing.TB) {
	t.Helper()
	switch rootGate(os.Geteuid(), os.Getenv) {
	case gateFail:
		t.Fatal("privileged test cannot run here: euid != 0 (CI or BERTH_TEST_ROOT=1 is set)")
	case gateSkip:
		t.Skip("requires root: sudo -E go test ./...")
	}
}

type gate int

const (
	gatePass gate = iota
	gateSkip
	gateFail
)

func rootGate(euid int, getenv func(string) string) gate {
	switch {
	case euid == 0:
		return gatePass
	case getenv("CI") != "" || getenv("BERTH_TEST_ROOT") == "1":
		return gateFail
	}
	return gateSkip
}

// RequireFeature skips t, naming the feature, when a probe shows that the
// kernel or machine lacks it. If the feature is listed in BERTH_TEST_EXPECT
// (or that variable is "all") it fails instead. A name the probe does not
// know fails the test: that is a bug in the test.
//
// Known names: "overlay", "userns", "netns", "veth", "bridge",
// "cgroup1:CONTROLLER" (a mounted v1 hierarchy, e.g. "cgroup1:memory"),
// "cgroup2:CONTROLLER" (a controller available in the cgroup2 mount, e.g.
// "cgroup2:memory"), "cgroup2" (a cgroup2 mount) and "tool:NAME" (an
// executable on PATH, e.g. "tool:runc").
func RequireFeature(t testing.TB, name string) {
	t.Helper()
	ok, why, known := probe(name)
	if !known {
		t.Fatalf("RequireFeature: unknown feature %q", name)
	}
	if ok {
		return
	}
	if expected(name, os.Getenv("BERTH_TEST_EXPECT")) {
		t.Fatalf("feature %s expected (BERTH_TEST_EXPECT) but missing: %s", name, why)
	}
	t.Skipf("feature %s missing: %s", name, why)
}

// HasFeature reports whether the probe for name finds the feature. It panics
// on an unknown name, like a misspelt test would deserve.
func HasFeature(name string) bool {
	ok, _, known := probe(name)
	if !known {
		panic("testutil.HasFeature: unknown feature " + name)
	}
	return ok
}

func expected(name, expect string) bool {
	list := strings.Split(expect, ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	return slices.Contains(list, "all") || slices.Contains(list, name)
}
