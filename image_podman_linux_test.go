package berth_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
)

// podman runs podman with all its state in a temporary directory, the
// vfs driver (no mounts) and the lowered rlimits this sandbox needs (see
// the clients recipe).
type podman struct {
	cgroupParent string
	args         []string
	env          []string
}

func newPodman(t *testing.T) *podman {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "tool:podman")
	testutil.RequireFeature(t, "tool:runc")
	dir, err := os.MkdirTemp("", "bpod") // podman refuses a runroot longer than 50 bytes
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	conf := filepath.Join(dir, "containers.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
runtime = "runc"
`, filepath.Join(dir, "events.log"))), 0o644))
	p := &podman{env: []string{"CONTAINERS_CONF=" + conf}, args: []string{
		"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "runroot"),
		"--tmpdir", filepath.Join(dir, "tmp"), "--storage-driver", "vfs",
	}}
	p.cgroupParent = fmt.Sprintf("berth-podman-test-%d", os.Getpid())
	t.Cleanup(func() {
		p.tryRun("rm", "--all", "--force")
		removeCgroups(t, p.cgroupParent)
	})
	return p
}

// removeCgroups removes the cgroup name (and the groups under it) that
// podman made in every hierarchy.
func removeCgroups(t *testing.T, name string) {
	dirs, err := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", name))
	require.NoError(t, err)
	for _, d := range dirs {
		var all []string
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				all = append(all, p)
			}
			return nil
		})
		for i := len(all) - 1; i >= 0; i-- {
			assert.NoError(t, os.Remove(all[i]))
		}
	}
}

func (p *podman) run(t *testing.T, args ...string) string {
	t.Helper()
	return string(runTool(t, p.env, "podman", append(append([]string{}, p.args...), args...)...))
}

func (p *podman) tryRun(args ...string) {
	_, _ = commandOutput(p.env, "podman", append(append([]string{}, p.args...), args...)...)
}

// payloadImage imports testutil's rootfs (a static multi-call binary with
// an applet per name in /bin) as an image named name.
func payloadImage(t *testing.T, s *berth.ImageStore, name string) *berth.Image {
	var tarball bytes.Buffer
	_, err := layers.Diff(t.Context(), "", testutil.Rootfs(t), &tarball, nil)
	require.NoError(t, err)
	info, err := s.ImportRootfs(t.Context(), &tarball, &berth.RootfsOptions{
		Names: []string{name}, Compression: layers.Gzip,
		Changes: []string{"ENV PATH=/bin", `CMD ["echo", "hello from an image berth wrote"]`},
	})
	require.NoError(t, err)
	return info.Image
}

func TestInteropPodmanLoadsAndRunsOurArchives(t *testing.T) {
	p := newPodman(t)
	s := newStore(t)
	img := payloadImage(t, s, "localhost/berth/payload:1")
	for _, f := range []berth.ArchiveFormat{berth.OCIArchive, berth.DockerArchive} {
		t.Run(f.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "image.tar")
			out, err := os.Create(path)
			require.NoError(t, err)
			require.NoError(t, s.Export(t.Context(), out, []string{"localhost/berth/payload:1"}, &berth.ExportOptions{Format: f}))
			require.NoError(t, out.Close())
			loaded := p.run(t, "load", "-i", path)
			assert.Contains(t, loaded, "localhost/berth/payload:1")
			id := strings.TrimSpace(p.run(t, "image", "inspect", "--format", "{{.ID}}", "localhost/berth/payload:1"))
			assert.Equal(t, img.ID().Encoded(), id, "podman sees the same config")
			got := p.run(t, "run", "--rm", "--network", "none", "--cgroup-parent", "/"+p.cgroupParent, "localhost/berth/payload:1")
			assert.Equal(t, "hello from an image berth wrote\n", got)
			p.run(t, "rmi", "localhost/berth/payload:1")
		})
	}
	t.Run("oci-layout", func(t *testing.T) {
		tmp, err := os.MkdirTemp("", "layout") // podman names the image after the path, which must be lower-case
		require.NoError(t, err)
		t.Cleanup(func() { _ = os.RemoveAll(tmp) })
		dir := filepath.Join(tmp, "layout")
		require.NoError(t, s.ExportLayout(t.Context(), dir, []string{"localhost/berth/payload:1"}))
		p.run(t, "pull", "oci:"+dir+":localhost/berth/payload:1")
		got := p.run(t, "run", "--rm", "--network", "none", "--cgroup-parent", "/"+p.cgroupParent,
			img.ID().Encoded(), "cat", "/etc/passwd")
		assert.Contains(t, got, "root:x:0:0")
	})
}
