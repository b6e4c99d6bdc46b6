package containerdsuite

import (
	"context"
	"testing"

	"github.com/containerd/containerd/v2/core/snapshots"
	"github.com/containerd/containerd/v2/core/snapshots/testsuite"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
)

// containerd's suite skips the lower-dir rename check for drivers it
// calls "overlayfs" (overlayfs without redirect_dir cannot rename lower
// directories); our overlay driver runs with redirect_dir=off too.
func TestContainerdSuiteOverlay(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "overlay")
	testsuite.SnapshotterSuite(t, "overlayfs", func(ctx context.Context, root string) (snapshots.Snapshotter, func() error, error) {
		s, err := layers.NewOverlay(root)
		if err != nil {
			return nil, nil, err
		}
		return Adapter{S: s}, s.Close, nil
	})
}

func TestContainerdSuiteCopy(t *testing.T) {
	testutil.RequireRoot(t)
	testsuite.SnapshotterSuite(t, "berth-copy", func(ctx context.Context, root string) (snapshots.Snapshotter, func() error, error) {
		s, err := layers.NewCopy(root)
		if err != nil {
			return nil, nil, err
		}
		return Adapter{S: s}, s.Close, nil
	})
}
