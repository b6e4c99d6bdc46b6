package berth_test

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

// containerd is a containerd daemon this test started, with everything
// under a temporary directory, its own socket, the CRI plugin off (see
// the clients recipe), and a namespace of its own.
type containerd struct {
	sock, ns string
}

// requireContainerd skips without containerd, ctr, its runc shim and runc.
func requireContainerd(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "tool:containerd")
	testutil.RequireFeature(t, "tool:ctr")
	testutil.RequireFeature(t, "tool:containerd-shim-runc-v2")
	testutil.RequireFeature(t, "tool:runc")
}

// startContainerd starts the daemon; its cleanup stops it and removes the
// cgroups and runc state its containers left.
func startContainerd(t *testing.T) *containerd {
	dir, err := os.MkdirTemp("", "bctd") // short: the socket path must fit in sun_path
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, os.RemoveAll(dir)) })
	c := &containerd{sock: filepath.Join(dir, "containerd.sock"), ns: fmt.Sprintf("berth-ctr-%d", os.Getpid())}
	conf := filepath.Join(dir, "config.toml")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc", filepath.Join(dir, "opt"))), 0o644))
	var logs bytes.Buffer
	cmd := exec.Command("containerd", "--config", conf)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		c.stop(t, cmd)
		removeCgroups(t, c.ns)
		assert.NoError(t, os.RemoveAll(filepath.Join("/run/containerd/runc", c.ns)))
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := commandOutput(nil, "ctr", "-a", c.sock, "version"); err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "containerd did not answer:\n%s", logs.String())
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

// stop ends the daemon this test started, by its PID.
func (c *containerd) stop(t *testing.T, cmd *exec.Cmd) {
	_, _ = commandOutput(nil, "ctr", "-a", c.sock, "-n", c.ns, "images", "rm", "localhost/berth/payload:1")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (c *containerd) ctr(t *testing.T, args ...string) string {
	t.Helper()
	return string(runTool(t, nil, "ctr", append([]string{"-a", c.sock, "-n", c.ns}, args...)...))
}

// tarDir writes the tree under dir (files and directories only, as an
// OCI layout holds) to a tar archive at path.
func tarDir(t *testing.T, dir, path string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	tw := tar.NewWriter(f)
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil || d.IsDir() {
			return err
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	}))
	require.NoError(t, tw.Close())
}

// TestInteropContainerdRunsOurImages imports what the store exports (an
// OCI image layout, an oci-archive, a docker-archive) into containerd with
// ctr and runs it there with runc.
func TestInteropContainerdRunsOurImages(t *testing.T) {
	requireContainerd(t)
	testutil.CheckLeaks(t) // its cleanup runs after containerd's
	c := startContainerd(t)
	s := newStore(t)
	img := payloadImage(t, s, "localhost/berth/payload:1")
	ref := "localhost/berth/payload:1"
	tests := []struct {
		name       string
		sameDigest bool // the archive carries our manifest (a docker-archive does not)
		write      func(t *testing.T, path string)
	}{
		{"oci-layout", true, func(t *testing.T, path string) {
			dir := filepath.Join(t.TempDir(), "layout")
			require.NoError(t, s.ExportLayout(t.Context(), dir, []string{ref}))
			tarDir(t, dir, path)
		}},
		{"oci-archive", true, func(t *testing.T, path string) { exportTo(t, s, path, ref, berth.OCIArchive) }},
		{"docker-archive", false, func(t *testing.T, path string) { exportTo(t, s, path, ref, berth.DockerArchive) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "image.tar")
			tt.write(t, path)
			out := c.ctr(t, "images", "import", path)
			assert.Contains(t, out, ref)
			list := c.ctr(t, "images", "ls")
			require.Contains(t, list, ref)
			if tt.sameDigest {
				assert.Contains(t, list, img.Digest().String(), "containerd keeps our manifest")
			}
			got := c.ctr(t, "run", "--rm", ref, fmt.Sprintf("berth-interop-%d", i))
			assert.Equal(t, "hello from an image berth wrote\n", got)
			got = c.ctr(t, "run", "--rm", ref, fmt.Sprintf("berth-interop-cat-%d", i), "cat", "/etc/passwd")
			assert.Contains(t, got, "root:x:0:0")
			c.ctr(t, "images", "rm", ref)
		})
	}
}

func exportTo(t *testing.T, s *berth.ImageStore, path, ref string, f berth.ArchiveFormat) {
	t.Helper()
	out, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, s.Export(t.Context(), out, []string{ref}, &berth.ExportOptions{Format: f}))
	require.NoError(t, out.Close())
}
