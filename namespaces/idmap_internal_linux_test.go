package namespaces

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFormatIDMaps(t *testing.T) {
	tests := []struct {
		name    string
		maps    []IDMap
		want    string
		invalid bool
	}{
		{name: "one", maps: []IDMap{{0, 100000, 65536}}, want: "0 100000 65536\n"},
		{name: "many", maps: []IDMap{{0, 1000, 1}, {1, 100000, 65535}}, want: "0 1000 1\n1 100000 65535\n"},
		{name: "top of range", maps: []IDMap{{4294967295, 4294967295, 1}}, want: "4294967295 4294967295 1\n"},
		{name: "empty list", maps: nil, invalid: true},
		{name: "empty range", maps: []IDMap{{0, 0, 0}}, invalid: true},
		{name: "wraps", maps: []IDMap{{4294967295, 0, 2}}, invalid: true},
		{name: "host wraps", maps: []IDMap{{0, 4294967295, 2}}, invalid: true},
		{name: "container overlap", maps: []IDMap{{0, 1000, 10}, {5, 5000, 10}}, invalid: true},
		{name: "host overlap", maps: []IDMap{{0, 1000, 10}, {100, 1009, 10}}, invalid: true},
		{name: "too many", maps: manyMaps(341), invalid: true},
		{name: "340 fit", maps: manyMaps(340), want: strings.Repeat("x", 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := formatIDMaps(tt.maps)
			if tt.invalid {
				require.ErrorIs(t, err, fs.ErrInvalid)
				return
			}
			require.NoError(t, err)
			if tt.want != "" {
				assert.Equal(t, tt.want, got)
			}
			assert.Len(t, strings.Split(strings.TrimSpace(got), "\n"), len(tt.maps))
		})
	}
}

func manyMaps(n int) []IDMap {
	out := make([]IDMap, n)
	for i := range out {
		out[i] = IDMap{ContainerID: uint32(i), HostID: uint32(100000 + i), Size: 1}
	}
	return out
}

func TestIDMapString(t *testing.T) {
	assert.Equal(t, "0:100000:65536", IDMap{0, 100000, 65536}.String())
	assert.Equal(t, []string{"42", "0", "1000", "1", "1", "100000", "65535"},
		helperArgs(42, []IDMap{{0, 1000, 1}, {1, 100000, 65535}}))
}

// fakeProc makes a fake /proc/PID with empty map files.
func fakeProc(t *testing.T, pid string) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, pid)
	require.NoError(t, os.Mkdir(dir, 0o755))
	for _, f := range []string{"uid_map", "gid_map", "setgroups"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

func noHelpers(string) (string, error) { return "", errors.New("not found") }

func TestWriteIDMapsDirect(t *testing.T) {
	tests := []struct {
		name          string
		euid          int
		wantSetgroups string
	}{
		{"root writes maps and leaves setgroups", 0, ""},
		{"unprivileged denies setgroups first", 1000, "deny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := fakeProc(t, "77")
			err := writeIDMaps(77, []IDMap{{0, 1000, 1}}, []IDMap{{0, 1000, 1}, {1, 200000, 10}},
				idMapEnv{euid: tt.euid, lookPath: noHelpers, procRoot: proc})
			require.NoError(t, err)
			assert.Equal(t, "0 1000 1\n", readFile(t, filepath.Join(proc, "77", "uid_map")))
			assert.Equal(t, "0 1000 1\n1 200000 10\n", readFile(t, filepath.Join(proc, "77", "gid_map")))
			assert.Equal(t, tt.wantSetgroups, readFile(t, filepath.Join(proc, "77", "setgroups")))
		})
	}
}

func TestWriteIDMapsOnlyOneList(t *testing.T) {
	proc := fakeProc(t, "5")
	require.NoError(t, writeIDMaps(5, nil, []IDMap{{0, 0, 1}}, idMapEnv{euid: 0, lookPath: noHelpers, procRoot: proc}))
	assert.Empty(t, readFile(t, filepath.Join(proc, "5", "uid_map")))
	assert.Equal(t, "0 0 1\n", readFile(t, filepath.Join(proc, "5", "gid_map")))
}

func TestWriteIDMapsInvalidWritesNothing(t *testing.T) {
	proc := fakeProc(t, "5")
	err := writeIDMaps(5, []IDMap{{0, 0, 1}}, []IDMap{{0, 0, 0}}, idMapEnv{euid: 0, lookPath: noHelpers, procRoot: proc})
	require.ErrorIs(t, err, fs.ErrInvalid)
	assert.Empty(t, readFile(t, filepath.Join(proc, "5", "uid_map")), "nothing is written when either map is invalid")
}

func TestWriteIDMapsMissingProcess(t *testing.T) {
	err := writeIDMaps(5, []IDMap{{0, 0, 1}}, nil, idMapEnv{euid: 0, lookPath: noHelpers, procRoot: t.TempDir()})
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// fakeHelper writes a script that records its name and arguments in log.
func fakeHelper(t *testing.T, dir, name, log string, exit int) string {
	t.Helper()
	path := filepath.Join(dir, name)
	script := "#!/bin/sh\necho " + name + " \"$@\" >> " + log + "\necho helper complaint >&2\nexit " +
		string(rune('0'+exit)) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(script), 0o755))
	return path
}

func TestWriteIDMapsUsesHelpersWhenUnprivileged(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	uidHelper := fakeHelper(t, dir, "newuidmap", log, 0)
	gidHelper := fakeHelper(t, dir, "newgidmap", log, 0)
	look := func(name string) (string, error) {
		return map[string]string{"newuidmap": uidHelper, "newgidmap": gidHelper}[name], nil
	}
	proc := fakeProc(t, "9")
	err := writeIDMaps(9, []IDMap{{0, 1000, 1}, {1, 100000, 65536}}, []IDMap{{0, 1000, 1}},
		idMapEnv{euid: 1000, lookPath: look, procRoot: proc})
	require.NoError(t, err)
	assert.Equal(t, "newuidmap 9 0 1000 1 1 100000 65536\nnewgidmap 9 0 1000 1\n", readFile(t, log))
	assert.Empty(t, readFile(t, filepath.Join(proc, "9", "uid_map")), "helpers, not direct writes")
	assert.Empty(t, readFile(t, filepath.Join(proc, "9", "setgroups")))

	// Root never uses them.
	require.NoError(t, os.Remove(log))
	require.NoError(t, writeIDMaps(9, []IDMap{{0, 0, 1}}, nil, idMapEnv{euid: 0, lookPath: look, procRoot: proc}))
	assert.NoFileExists(t, log)
	assert.Equal(t, "0 0 1\n", readFile(t, filepath.Join(proc, "9", "uid_map")))
}

func TestWriteIDMapsHelperFailure(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	failing := fakeHelper(t, dir, "newuidmap", log, 1)
	look := func(string) (string, error) { return failing, nil }
	err := writeIDMaps(9, []IDMap{{0, 1000, 1}}, nil, idMapEnv{euid: 1000, lookPath: look})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "helper complaint")
}
