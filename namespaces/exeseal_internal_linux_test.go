package namespaces

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/testutil"
)

func openSelf(t *testing.T) *os.File {
	t.Helper()
	exe, err := os.Open("/proc/self/exe")
	require.NoError(t, err)
	t.Cleanup(func() { exe.Close() })
	return exe
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// assertUnwritable tries to open f for writing through /proc/self/fd, as
// container root would through /proc/PID/exe.
func assertUnwritable(t *testing.T, f *os.File) {
	t.Helper()
	for _, flags := range []int{os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC} {
		w, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), flags, 0)
		if err == nil {
			_, err = w.WriteAt([]byte("pwned"), 0)
			w.Close()
		}
		assert.Error(t, err, "flags %#x", flags)
	}
}

// TestCopyExe covers the fallback without an overlay: a sealed memfd with
// the binary's bytes.
func TestCopyExe(t *testing.T) {
	want := readAll(t, "/proc/self/exe")
	f, err := copyExe(openSelf(t))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	assert.True(t, isSealed(int(f.Fd())))
	got := readAll(t, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())))
	assert.True(t, bytes.Equal(want, got), "copy differs from the binary")
	assertUnwritable(t, f)
}

// TestOverlayExe is the privileged path: the binary through a lower-only
// overlay that is mounted nowhere.
func TestOverlayExe(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "overlay")
	testutil.CheckLeaks(t)
	want := readAll(t, "/proc/self/exe")
	mountsBefore := readAll(t, "/proc/self/mountinfo")
	f, err := overlayExe(openSelf(t))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	assert.Equal(t, mountsBefore, readAll(t, "/proc/self/mountinfo"), "the overlay shows in the mount table")
	var st unix.Statfs_t
	require.NoError(t, unix.Fstatfs(int(f.Fd()), &st))
	assert.Equal(t, int64(unix.OVERLAYFS_SUPER_MAGIC), st.Type)
	assert.NotZero(t, st.Flags&unix.ST_RDONLY)
	got := readAll(t, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())))
	assert.True(t, bytes.Equal(want, got), "overlay view differs from the binary")
	assertUnwritable(t, f)
	_, err = os.OpenFile("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), os.O_WRONLY, 0)
	assert.ErrorIs(t, err, unix.EROFS)
	// A process re-executed from it finds it protected already.
	assert.True(t, onReadOnlyOverlay(int(f.Fd())))
	assert.False(t, onReadOnlyOverlay(int(openSelf(t).Fd())), "the test binary itself is not")
}

// TestOpenExeDirChecksIdentity refuses a binary path that no longer leads
// to the running binary (replaced or deleted since it started).
func TestOpenExeDirChecksIdentity(t *testing.T) {
	var st unix.Stat_t
	require.NoError(t, unix.Fstat(int(openSelf(t).Fd()), &st))
	fd, name, err := openExeDir(&st)
	require.NoError(t, err)
	unix.Close(fd)
	assert.NotEmpty(t, name)
	st.Ino++
	_, _, err = openExeDir(&st)
	assert.True(t, errors.Is(err, errExeChanged), "%v", err)
}

// TestSendAllShortSource reports a source shorter than announced.
func TestSendAllShortSource(t *testing.T) {
	src, err := os.CreateTemp(t.TempDir(), "src")
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	_, err = src.WriteString("short")
	require.NoError(t, err)
	mfd, err := memfdCreate("test")
	require.NoError(t, err)
	dst := os.NewFile(uintptr(mfd), "memfd:test")
	t.Cleanup(func() { dst.Close() })
	err = sendAll(mfd, int(src.Fd()), 100)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.NoError(t, sendAll(mfd, int(src.Fd()), 5))
	got := readAll(t, "/proc/self/fd/"+strconv.Itoa(mfd))
	assert.Equal(t, "shortshort", string(got))
}
