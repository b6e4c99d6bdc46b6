//go:build !linux

package testutil

import "testing"

// NetNS skips: network namespaces exist only on Linux.
func NetNS(t testing.TB) string {
	t.Helper()
	t.Skip("network namespaces need Linux")
	return ""
}
