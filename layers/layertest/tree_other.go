//go:build !linux

package layertest

import "testing"

// TreeOptions selects what [Tree] records.
type TreeOptions struct {
	NoOwners, NoTimes, NoRootMeta bool
}

// Tree describes every file under dir; it needs Linux and skips t
// elsewhere.
func Tree(t testing.TB, dir string, opts TreeOptions) []string {
	t.Skip("layertest.Tree needs Linux")
	return nil
}
