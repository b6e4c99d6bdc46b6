package layers_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// Diff into a pipe enlarges the pipe's buffer to 1 MiB and writes the
// same bytes as into memory.
func TestDiffIntoPipe(t *testing.T) {
	upper := lt.TempDir(t)
	_, err := layers.Apply(t.Context(), upper, bytes.NewReader(lt.Tar(t,
		lt.File("a", "alpha", 0o644), lt.File("d/b", string(bytes.Repeat([]byte("b"), 3<<20)), 0o600))), unpriv)
	require.NoError(t, err)
	var want bytes.Buffer
	wantID, err := layers.Diff(t.Context(), "", upper, &want, nil)
	require.NoError(t, err)

	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { r.Close(); w.Close() })
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	gotID, err := layers.Diff(t.Context(), "", upper, w, nil)
	require.NoError(t, err)
	size, err := unix.FcntlInt(w.Fd(), unix.F_GETPIPE_SZ, 0)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, wantID, gotID)
	assert.Equal(t, want.Bytes(), <-got)
	assert.Equal(t, 1<<20, size)
}
