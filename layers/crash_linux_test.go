package layers_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// runHelper is the child side of the crash tests.
func runHelper(ctx context.Context, role string) error {
	dir := os.Getenv("HELPER_DIR")
	switch role {
	case "ingest":
		*layers.ForceNamedTemp = os.Getenv("HELPER_NAMED") == "1"
		size, want := int64(0), digest.Digest(os.Getenv("HELPER_DIGEST"))
		fmt.Sscan(os.Getenv("HELPER_SIZE"), &size)
		_, err := layers.Layout(dir).Ingest(ctx, os.Stdin, ocispec.Descriptor{Digest: want, Size: size})
		return err
	case "prepare":
		*layers.TestHookPopulated = func() {
			fmt.Println("populated")
			select {} // wait to be killed
		}
		s, err := layers.NewCopy(dir)
		if err != nil {
			return err
		}
		_, err = s.Prepare(ctx, "child", "base")
		return err
	}
	return fmt.Errorf("unknown helper role %q", role)
}

func helperCmd(t *testing.T, role string, env ...string) *exec.Cmd {
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+role)...)
	cmd.Stderr = os.Stderr
	return cmd
}

func killAndWait(t *testing.T, cmd *exec.Cmd) {
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
}

func TestIngestKilledHalfway(t *testing.T) {
	testutil.CheckLeaks(t)
	for _, named := range []bool{false, true} {
		t.Run(fmt.Sprintf("named=%v", named), func(t *testing.T) {
			dir := t.TempDir()
			l, err := layers.NewLayout(t.Context(), dir)
			require.NoError(t, err)
			data := bytes.Repeat([]byte("crash me "), 1<<20)
			want := digest.FromBytes(data)
			flag := "0"
			if named {
				flag = "1"
			}
			cmd := helperCmd(t, "ingest", "HELPER_DIR="+dir, "HELPER_NAMED="+flag,
				"HELPER_DIGEST="+want.String(), fmt.Sprintf("HELPER_SIZE=%d", len(data)))
			in, err := cmd.StdinPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			_, err = in.Write(data[:len(data)/2]) // returns once the child has read most of it
			require.NoError(t, err)
			killAndWait(t, cmd)
			in.Close()

			_, err = l.Stat(t.Context(), want)
			assert.ErrorIs(t, err, os.ErrNotExist, "no visible blob")
			leftovers, _ := filepath.Glob(filepath.Join(dir, ".berth-ingest", "*"))
			if named {
				assert.Len(t, leftovers, 1, "the dead writer's temp file is there until the next open")
			} else {
				assert.Empty(t, leftovers, "O_TMPFILE leaves nothing")
			}
			_, err = layers.NewLayout(t.Context(), dir)
			require.NoError(t, err)
			leftovers, _ = filepath.Glob(filepath.Join(dir, ".berth-ingest", "*"))
			assert.Empty(t, leftovers, "the next open cleans up")
			n := 0
			require.NoError(t, l.Walk(t.Context(), func(layers.BlobInfo) error { n++; return nil }))
			assert.Zero(t, n)
		})
	}
}

// A live writer's temp file survives another process's cleanup.
func TestIngestCleanupSparesLiveWriter(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	_, err := layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	data := bytes.Repeat([]byte("alive "), 1<<20)
	want := digest.FromBytes(data)
	cmd := helperCmd(t, "ingest", "HELPER_DIR="+dir, "HELPER_NAMED=1",
		"HELPER_DIGEST="+want.String(), fmt.Sprintf("HELPER_SIZE=%d", len(data)))
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	_, err = in.Write(data[:len(data)/2])
	require.NoError(t, err)
	_, err = layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".berth-ingest", "*"))
	assert.Len(t, leftovers, 1)
	_, err = in.Write(data[len(data)/2:])
	require.NoError(t, err)
	require.NoError(t, in.Close())
	require.NoError(t, cmd.Wait())
	info, err := layers.Layout(dir).Stat(t.Context(), want)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), info.Size)
}

func TestPrepareKilledHalfway(t *testing.T) {
	testutil.CheckLeaks(t)
	root := t.TempDir()
	s, err := layers.NewCopy(root)
	require.NoError(t, err)
	_, err = s.Prepare(t.Context(), "base-active", "")
	require.NoError(t, err)
	_, err = s.ApplyLayer(t.Context(), "base-active", bytes.NewReader(lt.Tar(t, lt.File("f", "x", 0o644))), unpriv)
	require.NoError(t, err)
	require.NoError(t, s.Commit(t.Context(), "base", "base-active"))
	require.NoError(t, s.Close())

	cmd := helperCmd(t, "prepare", "HELPER_DIR="+root)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "populated\n", line)
	killAndWait(t, cmd)

	tmps, _ := filepath.Glob(filepath.Join(root, "snapshots", "new-*"))
	require.Len(t, tmps, 1, "the dead prepare left its dir")
	// A crash after the rename but before the metadata was saved leaves
	// an unreferenced numbered dir.
	require.NoError(t, os.MkdirAll(filepath.Join(root, "snapshots", "999", "fs"), 0o755))

	s, err = layers.NewCopy(root)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	ents, err := os.ReadDir(filepath.Join(root, "snapshots"))
	require.NoError(t, err)
	var left []string
	for _, e := range ents {
		left = append(left, e.Name())
	}
	assert.Equal(t, []string{"1"}, left, "only the committed base remains")
	var keys []string
	require.NoError(t, s.Walk(t.Context(), func(_ context.Context, i layers.SnapshotInfo) error {
		keys = append(keys, i.Name)
		return nil
	}))
	assert.Equal(t, []string{"base"}, keys, "no partial snapshot")
	_, err = s.Prepare(t.Context(), "child", "base")
	require.NoError(t, err, "the key of the dead prepare is free")
}

// Two processes writing the same blob both succeed and leave one copy.
func TestIngestTwoProcessesSameBlob(t *testing.T) {
	testutil.CheckLeaks(t)
	dir := t.TempDir()
	_, err := layers.NewLayout(t.Context(), dir)
	require.NoError(t, err)
	data := bytes.Repeat([]byte("same blob "), 1<<19)
	want := digest.FromBytes(data)
	var cmds []*exec.Cmd
	for range 2 {
		cmd := helperCmd(t, "ingest", "HELPER_DIR="+dir, "HELPER_DIGEST="+want.String(), fmt.Sprintf("HELPER_SIZE=%d", len(data)))
		cmd.Stdin = bytes.NewReader(data)
		require.NoError(t, cmd.Start())
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		require.NoError(t, cmd.Wait())
	}
	var blobs []layers.BlobInfo
	require.NoError(t, layers.Layout(dir).Walk(t.Context(), func(b layers.BlobInfo) error { blobs = append(blobs, b); return nil }))
	require.Len(t, blobs, 1)
	assert.Equal(t, want, blobs[0].Digest)
	assert.Equal(t, int64(len(data)), blobs[0].Size)
}
