// Package layertest holds the conformance suites of package layers —
// [SnapshotterSuite] and [StoreSuite] — and the helpers they and other
// tests use: [Tar] and its entry constructors to build layers in memory,
// [Tree] to describe a directory tree for comparison, and [Contents] to
// get at a snapshot's files.
//
// A new Snapshotter or Store implementation passes the same suite as the
// built-in ones:
//
//	func TestMine(t *testing.T) {
//		layertest.SnapshotterSuite(t, func(t *testing.T, root string) layers.Snapshotter {
//			s, err := mine.New(root)
//			require.NoError(t, err)
//			return s
//		})
//	}
//
// Suites that mount need root and call testutil.RequireRoot for it; CI runs
// them as root.
package layertest
