package layers_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// attack is one hostile layer. base is the test's parent directory: dir
// is base/root, and base/outside/victim must never change.
type attack struct {
	name    string
	layer   func(t *testing.T, base string) []byte
	wantErr error // nil: neutralised, Apply succeeds
	check   func(t *testing.T, dir string)
}

func attacks() []attack {
	return []attack{
		{name: "dotdot name", wantErr: layers.ErrInvalidEntry, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.File("../outside/victim", "pwned", 0o644))
		}},
		{name: "nested dotdot", wantErr: layers.ErrInvalidEntry, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Dir("a"), lt.File("a/../../outside/victim", "pwned", 0o644))
		}},
		{name: "absolute name", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.File(base+"/outside/victim", "pwned", 0o644))
		}, check: func(t *testing.T, dir string) {
			assert.FileExists(t, filepath.Join(dir, filepath.Dir(dir), "outside/victim"))
		}},
		{name: "write through absolute symlink dir", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("link", base+"/outside"), lt.File("link/victim", "pwned", 0o644))
		}},
		{name: "write through relative symlink dir", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("link", "../../../../../../../.."), lt.File("link"+base+"/outside/victim", "pwned", 0o644))
		}},
		{name: "file replaces symlink to outside file", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("v", base+"/outside/victim"), lt.File("v", "pwned", 0o644))
		}, check: func(t *testing.T, dir string) {
			fi, err := os.Lstat(filepath.Join(dir, "v"))
			require.NoError(t, err)
			assert.True(t, fi.Mode().IsRegular())
		}},
		{name: "symlink swapped in for a directory mid-layer", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Dir("d"), lt.File("d/a", "1", 0o644),
				lt.Symlink("d", base+"/outside"), lt.File("d/victim", "pwned", 0o644))
		}},
		{name: "hardlink with dotdot", wantErr: layers.ErrInvalidEntry, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Link("h", "../outside/victim"))
		}},
		{name: "hardlink to absolute outside path", wantErr: fs.ErrNotExist, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Link("h", base+"/outside/victim"))
		}},
		{name: "hardlink through symlink dir", wantErr: fs.ErrNotExist, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("s", base+"/outside"), lt.Link("h", "s/victim"))
		}},
		{name: "hardlink to outside symlink then overwrite", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("s", base+"/outside/victim"), lt.Link("h", "s"), lt.File("h", "pwned", 0o644))
		}},
		{name: "whiteout with dotdot", wantErr: layers.ErrInvalidEntry, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Whiteout("../outside/victim"))
		}},
		{name: "whiteout of dotdot", wantErr: layers.ErrInvalidEntry, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Dir("a"), lt.Whiteout("a/.."))
		}},
		{name: "whiteout through symlink dir", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("s", base+"/outside"), lt.Whiteout("s/victim"))
		}},
		{name: "opaque through symlink dir", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("s", base+"/outside"), lt.Opaque("s"))
		}},
		{name: "file under symlink to outside file", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("f", base+"/outside/victim"), lt.File("f/x", "pwned", 0o644))
		}, check: func(t *testing.T, dir string) {
			assert.FileExists(t, filepath.Join(dir, filepath.Dir(dir), "outside/victim/x"))
		}},
		{name: "file under symlink to a file", wantErr: unix.ENOTDIR, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.File("plain", "p", 0o644), lt.Symlink("f", "/plain"), lt.File("f/x", "pwned", 0o644))
		}},
		{name: "symlink loop", wantErr: unix.ELOOP, layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.Symlink("l1", "l2"), lt.Symlink("l2", "l1"), lt.File("l1/x", "x", 0o644))
		}},
		{name: "duplicate entries, later wins", layer: func(t *testing.T, base string) []byte {
			return lt.Tar(t, lt.File("f", "one", 0o644), lt.File("f", "two", 0o600),
				lt.Dir("d"), lt.File("d/x", "x", 0o644), lt.File("d", "file now", 0o644),
				lt.File("e", "file", 0o644), lt.Dir("e"))
		}, check: func(t *testing.T, dir string) {
			assert.Equal(t, []string{". dir 700", "d file 644 size=8 sha=c2f60632fac3", "e dir 755",
				"f file 600 size=3 sha=3fc4ccfe7458"},
				lt.Tree(t, dir, lt.TreeOptions{NoOwners: true, NoTimes: true}))
		}},
		{name: "truncated tar", wantErr: errUnexpectedEOF, layer: func(t *testing.T, base string) []byte {
			data := lt.Tar(t, lt.File("big", strings.Repeat("x", 10000), 0o644))
			return data[:5000]
		}},
		{name: "truncated gzip", wantErr: errUnexpectedEOF, layer: func(t *testing.T, base string) []byte {
			data := gzipBytes(t, lt.Tar(t, lt.File("big", strings.Repeat("xy", 100000), 0o644)))
			return data[:len(data)/2]
		}},
	}
}

var errUnexpectedEOF = errors.New("unexpected EOF")

func gzipBytes(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// setupVictim makes base/outside/victim and base/root and returns root.
func setupVictim(t *testing.T) (base, dir string) {
	base = t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(base, "outside"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(base, "outside/victim"), []byte("original"), 0o644))
	dir = filepath.Join(base, "root")
	require.NoError(t, os.Mkdir(dir, 0o700))
	return base, dir
}

func outsideTree(t *testing.T, base string) []string {
	var out []string
	for _, l := range lt.Tree(t, base, lt.TreeOptions{}) {
		if !strings.HasPrefix(l, "root") && !strings.HasPrefix(l, ". ") {
			out = append(out, l)
		}
	}
	return out
}

func runAttacks(t *testing.T, opts *layers.ApplyOptions, exactErrors bool) {
	for _, tt := range attacks() {
		t.Run(tt.name, func(t *testing.T) {
			base, dir := setupVictim(t)
			before := outsideTree(t, base)
			_, err := layers.Apply(t.Context(), dir, bytes.NewReader(tt.layer(t, base)), opts)
			assert.Equal(t, before, outsideTree(t, base), "nothing outside dir changes")
			data, rerr := os.ReadFile(filepath.Join(base, "outside/victim"))
			require.NoError(t, rerr)
			assert.Equal(t, "original", string(data))
			if !exactErrors {
				return
			}
			switch {
			case tt.wantErr == errUnexpectedEOF:
				require.Error(t, err)
				assert.Contains(t, err.Error(), "unexpected EOF")
			case tt.wantErr != nil:
				require.ErrorIs(t, err, tt.wantErr)
				assert.Contains(t, err.Error(), "layer entry", "the error names the entry")
			default:
				require.NoError(t, err)
				if tt.check != nil {
					tt.check(t, dir)
				}
			}
		})
	}
}

func TestApplyAttacks(t *testing.T) {
	runAttacks(t, &layers.ApplyOptions{Unprivileged: true}, true)
}

func TestApplyAttacksPrivileged(t *testing.T) {
	testutil.RequireRoot(t)
	runAttacks(t, &layers.ApplyOptions{}, true)
}

// Without openat2 (old kernels) os.Root confines instead: symlinks that
// leave dir fail rather than being scoped, but nothing escapes either way.
func TestApplyAttacksOSRootFallback(t *testing.T) {
	*layers.NoOpenat2 = true
	t.Cleanup(func() { *layers.NoOpenat2 = false })
	runAttacks(t, &layers.ApplyOptions{Unprivileged: true}, false)
}

func TestApplyDecompressionBomb(t *testing.T) {
	_, dir := setupVictim(t)
	const size = 64 << 20
	bomb := gzipBytes(t, lt.Tar(t, lt.File("zeros", string(make([]byte, size)), 0o644)))
	require.Less(t, len(bomb), 1<<20, "a bomb: small compressed, large uncompressed")
	_, err := layers.Apply(t.Context(), dir, bytes.NewReader(bomb), &layers.ApplyOptions{Unprivileged: true, MaxSize: 8 << 20})
	require.ErrorIs(t, err, layers.ErrTooLarge)
	assert.Contains(t, err.Error(), `"zeros"`)
	fi, err := os.Stat(filepath.Join(dir, "zeros"))
	require.NoError(t, err)
	assert.LessOrEqual(t, fi.Size(), int64(8<<20), "no more than the limit was written")
}

func TestApplyDevices(t *testing.T) {
	layer := lt.Tar(t, lt.Device("dev/sda", tar.TypeBlock, 8, 0), lt.Device("dev/null", tar.TypeChar, 1, 3),
		lt.Device("fifo", tar.TypeFifo, 0, 0))
	t.Run("unprivileged skips devices", func(t *testing.T) {
		dir := t.TempDir()
		_, err := layers.Apply(t.Context(), dir, bytes.NewReader(layer), unpriv)
		require.NoError(t, err)
		assert.Equal(t, []string{". dir 755", "dev dir 755", "fifo fifo 600"},
			lt.Tree(t, dir, lt.TreeOptions{NoOwners: true, NoTimes: true}))
	})
	t.Run("root creates them inside dir", func(t *testing.T) {
		testutil.RequireRoot(t)
		dir := t.TempDir()
		_, err := layers.Apply(t.Context(), dir, bytes.NewReader(layer), nil)
		require.NoError(t, err)
		assert.Equal(t, []string{". dir 755 0:0", "dev dir 755 0:0", "dev/null char 600 0:0 dev=1,3",
			"dev/sda block 600 0:0 dev=8,0", "fifo fifo 600 0:0"},
			lt.Tree(t, dir, lt.TreeOptions{NoTimes: true}))
	})
}

// Owners are exact even where the kernel would pick another: a file owned
// by root in a pre-existing setgid directory keeps group 0.
func TestApplyOwnerInSetgidDir(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	sg := filepath.Join(dir, "shared")
	require.NoError(t, os.Mkdir(sg, 0o755))
	require.NoError(t, os.Chown(sg, 0, 6))
	require.NoError(t, os.Chmod(sg, 0o2775))
	layer := lt.Tar(t, lt.File("shared/f", "x", 0o644), lt.File("top", "y", 0o640).Owner(0, 0))
	_, err := layers.Apply(t.Context(), dir, bytes.NewReader(layer), nil)
	require.NoError(t, err)
	tree := lt.Tree(t, dir, lt.TreeOptions{NoTimes: true})
	assert.Contains(t, tree, "shared/f file 644 0:0 size=1 sha=2d711642b726")
	assert.Contains(t, tree, "top file 640 0:0 size=1 sha=a1fce4363854")
}
