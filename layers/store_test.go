package layers_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

func TestLayoutStore(t *testing.T) {
	lt.StoreSuite(t, func(t *testing.T) layers.Store {
		l, err := layers.NewLayout(t.Context(), t.TempDir())
		require.NoError(t, err)
		return l
	})
}
