package layers_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// Filesystems without O_TMPFILE get named, flock-held temp files.
func TestLayoutStoreNamedTemps(t *testing.T) {
	*layers.ForceNamedTemp = true
	t.Cleanup(func() { *layers.ForceNamedTemp = false })
	lt.StoreSuite(t, func(t *testing.T) layers.Store {
		l, err := layers.NewLayout(t.Context(), t.TempDir())
		require.NoError(t, err)
		return l
	})
}
