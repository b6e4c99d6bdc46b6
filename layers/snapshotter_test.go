package layers_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

func TestCopySnapshotterUnprivileged(t *testing.T) {
	testutil.CheckLeaks(t)
	lt.SnapshotterSuite(t, func(t *testing.T, root string) layers.Snapshotter {
		s, err := layers.NewCopy(root)
		require.NoError(t, err)
		return s
	}, lt.SuiteOptions{Apply: layers.ApplyOptions{Unprivileged: true}, DeepChain: 40})
}

func TestCopySnapshotterPrivileged(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	lt.SnapshotterSuite(t, func(t *testing.T, root string) layers.Snapshotter {
		s, err := layers.NewCopy(root)
		require.NoError(t, err)
		return s
	}, lt.SuiteOptions{DeepChain: 40})
}

func TestOverlaySnapshotter(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	testutil.RequireFeature(t, "overlay")
	lt.SnapshotterSuite(t, func(t *testing.T, root string) layers.Snapshotter {
		s, err := layers.NewOverlay(root)
		require.NoError(t, err)
		return s
	}, lt.SuiteOptions{})
}
