package namespaces

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// attackTree builds a rootfs full of links that try to lead out of it, and
// an outside directory holding a secret. It returns both.
func attackTree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "root")
	outside = filepath.Join(base, "outside")
	for _, d := range []string{root + "/etc", root + "/dir/sub", outside} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.WriteFile(root+"/etc/passwd", []byte("inside"), 0o644))
	require.NoError(t, os.WriteFile(root+"/file", []byte("file"), 0o644))
	require.NoError(t, os.WriteFile(outside+"/passwd", []byte("SECRET"), 0o644))
	links := map[string]string{
		"abs":        "/etc",
		"rel":        "../../../../../../../etc",
		"escape-abs": outside,
		"escape-rel": "../outside",
		"dotdot":     "dir/sub/../../../../..",
		"loop":       "loop",
		"dir/up":     "../../../../outside",
		"chain":      "abs",
		"dangling":   "/nonexistent/target",
	}
	for name, target := range links {
		require.NoError(t, os.Symlink(target, filepath.Join(root, name)))
	}
	return root, outside
}

// bothResolvers runs f with openat2 and with the component walk.
func bothResolvers(t *testing.T, f func(t *testing.T)) {
	for _, walkOnly := range []bool{false, true} {
		name := "openat2"
		if walkOnly {
			name = "walk"
		}
		t.Run(name, func(t *testing.T) {
			was := forceWalk.Swap(walkOnly)
			t.Cleanup(func() { forceWalk.Store(was) })
			f(t)
		})
	}
}

func TestOpenInRootConfines(t *testing.T) {
	tests := []struct {
		path string
		want string // content read, or "" when err is set
		err  error
	}{
		{path: "etc/passwd", want: "inside"},
		{path: "/etc/passwd", want: "inside"},
		{path: "../../../etc/passwd", want: "inside"},
		{path: "abs/passwd", want: "inside"},
		{path: "rel/passwd", want: "inside"},
		{path: "chain/passwd", want: "inside"},
		{path: "dotdot/etc/passwd", want: "inside"},
		{path: "dir/sub/../../etc/./passwd", want: "inside"},
		{path: "escape-rel/passwd", err: fs.ErrNotExist},
		{path: "escape-abs/passwd", err: fs.ErrNotExist},
		{path: "dir/up/passwd", err: fs.ErrNotExist},
		{path: "dangling", err: fs.ErrNotExist},
		{path: "loop", err: unix.ELOOP},
		{path: "file/x", err: unix.ENOTDIR},
	}
	bothResolvers(t, func(t *testing.T) {
		root, _ := attackTree(t)
		for _, tt := range tests {
			f, err := OpenInRoot(root, tt.path, unix.O_RDONLY)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err, tt.path)
				var pe *fs.PathError
				assert.ErrorAs(t, err, &pe, tt.path)
				continue
			}
			if !assert.NoError(t, err, tt.path) {
				continue
			}
			data, err := io.ReadAll(f)
			f.Close()
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(data), tt.path)
		}
	})
}

func TestOpenInRootFlags(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root, outside := attackTree(t)
		// O_CREAT through an escaping link lands inside.
		f, err := OpenInRoot(root, "rel/created", unix.O_CREAT|unix.O_WRONLY)
		require.NoError(t, err)
		_, err = f.WriteString("x")
		require.NoError(t, err)
		f.Close()
		assert.FileExists(t, root+"/etc/created")

		// O_NOFOLLOW on a final symlink: ELOOP unless O_PATH.
		_, err = OpenInRoot(root, "abs", unix.O_RDONLY|unix.O_NOFOLLOW)
		assert.ErrorIs(t, err, unix.ELOOP)
		f, err = OpenInRoot(root, "abs", unix.O_PATH|unix.O_NOFOLLOW)
		require.NoError(t, err)
		var st unix.Stat_t
		require.NoError(t, unix.Fstat(int(f.Fd()), &st))
		assert.Equal(t, uint32(unix.S_IFLNK), st.Mode&unix.S_IFMT)
		f.Close()

		_, err = OpenInRoot(root, "file", unix.O_RDONLY|unix.O_DIRECTORY)
		assert.ErrorIs(t, err, unix.ENOTDIR)
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "nothing was created outside")
	})
}

func TestMkdirAllInRootConfines(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root, outside := attackTree(t)
		for _, p := range []string{"escape-abs/made", "escape-rel/made", "dir/up/made", "abs/made/deeper", "dangling/made"} {
			f, err := MkdirAllInRoot(root, p, 0o755)
			require.NoError(t, err, p)
			f.Close()
		}
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "nothing was created outside")
		assert.DirExists(t, filepath.Join(root, outside, "made"))
		assert.DirExists(t, root+"/outside/made")
		assert.DirExists(t, root+"/etc/made/deeper")
		assert.DirExists(t, root+"/nonexistent/target/made")

		_, err = MkdirAllInRoot(root, "file/sub", 0o755)
		assert.ErrorIs(t, err, unix.ENOTDIR)
		_, err = MkdirAllInRoot(root, "file", 0o755)
		assert.ErrorIs(t, err, unix.ENOTDIR)
		_, err = MkdirAllInRoot(root, "loop/x", 0o755)
		assert.ErrorIs(t, err, unix.ELOOP)
	})
}

func TestSecureJoin(t *testing.T) {
	root, outside := attackTree(t)
	tests := []struct{ path, want string }{
		{"etc/passwd", "/etc/passwd"},
		{"../../etc", "/etc"},
		{"abs/passwd", "/etc/passwd"},
		{"rel/passwd", "/etc/passwd"},
		{"escape-abs/passwd", outside + "/passwd"},
		{"escape-rel/passwd", "/outside/passwd"},
		{"dotdot", "/"},
		{"", "/"},
		{"missing/../x", "/x"},
	}
	for _, tt := range tests {
		got, err := SecureJoin(root, tt.path)
		require.NoError(t, err, tt.path)
		assert.Equal(t, filepath.Join(root, tt.want), got, tt.path)
	}
	_, err := SecureJoin(root, "loop")
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

// TestInRootSwapRace swaps a directory with a symlink to the outside while
// paths through it are resolved and created: nothing may reach outside.
func TestInRootSwapRace(t *testing.T) {
	bothResolvers(t, func(t *testing.T) {
		root, outside := attackTree(t)
		require.NoError(t, os.Mkdir(root+"/swap", 0o755))
		require.NoError(t, os.WriteFile(root+"/swap/passwd", []byte("inside"), 0o644))
		require.NoError(t, os.Symlink(outside, root+"/swaplink"))
		var stop atomic.Bool
		done := make(chan error, 1)
		go func() {
			for !stop.Load() {
				if err := unix.Renameat2(unix.AT_FDCWD, root+"/swap", unix.AT_FDCWD, root+"/swaplink", unix.RENAME_EXCHANGE); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		opened := 0
		for range 3000 {
			if f, err := OpenInRoot(root, "swap/passwd", unix.O_RDONLY); err == nil {
				data, _ := io.ReadAll(f)
				f.Close()
				opened++
				require.Equal(t, "inside", string(data), "read through the swapped link")
			}
			if f, err := MkdirAllInRoot(root, "swap/made", 0o755); err == nil {
				f.Close()
			}
		}
		stop.Store(true)
		require.NoError(t, <-done)
		entries, err := os.ReadDir(outside)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "nothing was created outside")
		t.Logf("opened inside %d times", opened)
	})
}

func TestNextComponent(t *testing.T) {
	c, rest := nextComponent("//./a/b")
	assert.Equal(t, "a", c)
	assert.Equal(t, "b", rest)
	c, _ = nextComponent("/./")
	assert.Equal(t, "", c)
	assert.True(t, isLastComponent("./"))
	assert.False(t, isLastComponent("./.."))
	assert.False(t, errors.Is(nil, fs.ErrNotExist))
}
