package namespaces_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

func TestCurrentAndOpenPID(t *testing.T) {
	for _, k := range []namespaces.Kind{namespaces.Mount, namespaces.UTS, namespaces.IPC, namespaces.PID,
		namespaces.Net, namespaces.User, namespaces.Cgroup, namespaces.Time} {
		t.Run(k.String(), func(t *testing.T) {
			cur, err := namespaces.Current(k)
			require.NoError(t, err)
			t.Cleanup(func() { cur.Close() })
			assert.Equal(t, k, cur.Kind())
			byPID, err := namespaces.OpenPID(os.Getpid(), k)
			require.NoError(t, err)
			t.Cleanup(func() { byPID.Close() })
			assert.True(t, cur.Equal(byPID))
			byPath, err := namespaces.Open(byPID.File().Name())
			require.NoError(t, err)
			t.Cleanup(func() { byPath.Close() })
			assert.Equal(t, k, byPath.Kind(), "Open finds the kind itself")
			assert.True(t, byPath.Equal(cur))
		})
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := namespaces.Open(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	plain := filepath.Join(t.TempDir(), "plain")
	require.NoError(t, os.WriteFile(plain, nil, 0o600))
	_, err = namespaces.Open(plain)
	assert.ErrorIs(t, err, fs.ErrInvalid)

	_, err = namespaces.OpenPID(os.Getpid(), namespaces.Net|namespaces.UTS)
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = namespaces.Current(0)
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = namespaces.OpenPID(1<<30, namespaces.Net)
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestDoUnsupportedKinds(t *testing.T) {
	for _, k := range []namespaces.Kind{namespaces.Mount, namespaces.User, namespaces.PID, namespaces.Cgroup, namespaces.Time} {
		h, err := namespaces.Current(k)
		require.NoError(t, err)
		called := false
		err = h.Do(func() error { called = true; return nil })
		assert.ErrorIs(t, err, errors.ErrUnsupported, k.String())
		assert.False(t, called)
		h.Close()
	}
}

func TestDoNetAndUTS(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "netns")
	testutil.CheckLeaks(t)
	child := startHold(t, namespaces.Net|namespaces.UTS, nil)
	hostNet, err := namespaces.Current(namespaces.Net)
	require.NoError(t, err)
	defer hostNet.Close()
	hostName, err := os.Hostname()
	require.NoError(t, err)

	netns, err := namespaces.OpenPID(child.cmd.Process.Pid, namespaces.Net)
	require.NoError(t, err)
	defer netns.Close()
	assert.False(t, netns.Equal(hostNet))
	var names []string
	require.NoError(t, netns.Do(func() error {
		inside, err := namespaces.Current(namespaces.Net)
		if err != nil {
			return err
		}
		defer inside.Close()
		if !inside.Equal(netns) {
			return errors.New("fn does not run in the namespace")
		}
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		return err
	}))
	assert.Equal(t, []string{"lo"}, names)

	uts, err := namespaces.OpenPID(child.cmd.Process.Pid, namespaces.UTS)
	require.NoError(t, err)
	defer uts.Close()
	require.NoError(t, uts.Do(func() error { return unix.Sethostname([]byte("berth-do-test")) }))
	var inside string
	require.NoError(t, uts.Do(func() error { inside, err = os.Hostname(); return err }))
	assert.Equal(t, "berth-do-test", inside)
	after, err := os.Hostname()
	require.NoError(t, err)
	assert.Equal(t, hostName, after, "the host's hostname is untouched")

	wantErr := errors.New("from fn")
	assert.ErrorIs(t, netns.Do(func() error { return wantErr }), wantErr)
	child.release(t)

	// Every thread is back in the host namespace.
	for range 4 * runtime.GOMAXPROCS(0) {
		now, err := namespaces.Current(namespaces.Net)
		require.NoError(t, err)
		assert.True(t, now.Equal(hostNet))
		now.Close()
		runtime.Gosched()
	}
}

func TestPinUnpin(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	child := startHold(t, namespaces.Net|namespaces.IPC, nil)
	h, err := namespaces.OpenPID(child.cmd.Process.Pid, namespaces.Net)
	require.NoError(t, err)
	defer h.Close()
	pin := filepath.Join(t.TempDir(), "pinned-net")
	require.NoError(t, namespaces.Pin(h, pin))
	t.Cleanup(func() { _ = namespaces.Unpin(pin) })
	child.release(t)
	require.NoError(t, h.Close())

	// The namespace outlives its last process and handle.
	again, err := namespaces.Open(pin)
	require.NoError(t, err)
	assert.Equal(t, namespaces.Net, again.Kind())
	require.NoError(t, again.Do(func() error {
		ifs, err := net.Interfaces()
		if err == nil && len(ifs) != 1 {
			err = errors.New("not the pinned namespace")
		}
		return err
	}))
	require.NoError(t, again.Close())

	require.NoError(t, namespaces.Unpin(pin))
	assert.NoFileExists(t, pin)
	assert.ErrorIs(t, namespaces.Unpin(pin), fs.ErrNotExist)
}

func TestPinExistingFileAndFailure(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	h, err := namespaces.Current(namespaces.UTS)
	require.NoError(t, err)
	defer h.Close()
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing")
	require.NoError(t, os.WriteFile(existing, nil, 0o600))
	require.NoError(t, namespaces.Pin(h, existing))
	pinned, err := namespaces.Open(existing)
	require.NoError(t, err)
	assert.True(t, pinned.Equal(h))
	pinned.Close()
	require.NoError(t, namespaces.Unpin(existing))

	// A failed pin removes the file it created.
	sub := filepath.Join(dir, "sub")
	require.NoError(t, os.Mkdir(sub, 0o755))
	err = namespaces.Pin(h, sub) // a directory: the bind mount of a file onto it fails
	require.Error(t, err)
	assert.DirExists(t, sub, "an existing path is left alone")
}

func TestWriteIDMaps(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "userns")
	testutil.CheckLeaks(t)
	child := startHold(t, namespaces.User, nil, "uid_map", "gid_map", "setgroups")
	uids := []namespaces.IDMap{{ContainerID: 0, HostID: 100000, Size: 65536}}
	gids := []namespaces.IDMap{{ContainerID: 0, HostID: 100000, Size: 1000}, {ContainerID: 1000, HostID: 200000, Size: 10}}
	require.NoError(t, namespaces.WriteIDMaps(child.cmd.Process.Pid, uids, gids))
	out := child.release(t)
	assert.Regexp(t, `uid_map: +0 +100000 +65536\n`, out)
	assert.Regexp(t, `gid_map: +0 +100000 +1000\n +1000 +200000 +10\n`, out)
	assert.Contains(t, out, "setgroups: allow", "root leaves setgroups allowed")

	again := startHold(t, namespaces.User, nil)
	require.NoError(t, namespaces.WriteIDMaps(again.cmd.Process.Pid, uids, nil))
	err := namespaces.WriteIDMaps(again.cmd.Process.Pid, uids, nil)
	assert.ErrorIs(t, err, fs.ErrPermission, "a map can be written once")
	again.release(t)
}

// TestWriteIDMapsOwnID is the unprivileged half of TestWriteIDMaps: it
// maps the caller's own IDs the way an unprivileged caller must, by direct
// writes after denying setgroups, on a real user namespace.
func TestWriteIDMapsOwnID(t *testing.T) {
	testutil.RequireFeature(t, "userns")
	child := startHold(t, namespaces.User, nil, "uid_map", "gid_map", "setgroups")
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	err := namespaces.WriteIDMapsUnprivileged(child.cmd.Process.Pid,
		[]namespaces.IDMap{{ContainerID: 0, HostID: uid, Size: 1}}, []namespaces.IDMap{{ContainerID: 0, HostID: gid, Size: 1}})
	require.NoError(t, err)
	out := child.release(t)
	assert.Regexp(t, fmt.Sprintf(`uid_map: +0 +%d +1\n`, uid), out)
	assert.Regexp(t, fmt.Sprintf(`gid_map: +0 +%d +1\n`, gid), out)
	assert.Contains(t, out, "setgroups: deny")
}
