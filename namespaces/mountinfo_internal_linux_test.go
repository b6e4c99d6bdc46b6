package namespaces

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleMountInfo = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:7 - cgroup cgroup rw,cpu,cpuacct
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/bin/x,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
50 27 0:40 /sub /mnt/with\040space rw - tmpfs none rw
`

func TestParseMountInfo(t *testing.T) {
	infos, err := parseMountInfo(strings.NewReader(sampleMountInfo))
	require.NoError(t, err)
	require.Len(t, infos, 7)
	assert.Equal(t, mountInfo{ID: 27, Parent: 1, Root: "/", MountPoint: "/", Options: []string{"rw", "relatime"},
		FSType: "ext4", Source: "/dev/vda", SuperOptions: []string{"rw", "discard"}}, infos[0])
	assert.Equal(t, "cgroup", infos[3].FSType, "optional fields are skipped")
	assert.Equal(t, "/mnt/with space", infos[6].MountPoint)
	assert.Equal(t, "/sub", infos[6].Root)

	_, err = parseMountInfo(strings.NewReader("1 2 3\n"))
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = parseMountInfo(strings.NewReader("x 1 0:1 / / rw - ext4 a rw\n"))
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

func TestParseMountInfoOfTypes(t *testing.T) {
	infos, err := parseMountInfoOf(strings.NewReader(sampleMountInfo+"garbage line without separator\n"), []string{"cgroup", "cgroup2"})
	require.NoError(t, err, "lines of other types are not parsed")
	require.Len(t, infos, 3)
	for _, m := range infos {
		assert.Contains(t, []string{"cgroup", "cgroup2"}, m.FSType)
	}
	assert.Equal(t, "/sys/fs/cgroup/unified", infos[2].MountPoint)
}

func TestCgroupHierarchies(t *testing.T) {
	infos, err := parseMountInfo(strings.NewReader(sampleMountInfo))
	require.NoError(t, err)
	h := cgroupHierarchies(infos)
	var points []string
	for _, m := range h {
		points = append(points, m.MountPoint)
	}
	assert.Equal(t, []string{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"}, points)
	assert.Equal(t, "cpu,cpuacct", cgroupV1Options(h[0].SuperOptions))
	assert.Equal(t, "name=systemd", cgroupV1Options(h[1].SuperOptions), "release_agent= never reaches the container")

	unified, err := parseMountInfo(strings.NewReader("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"))
	require.NoError(t, err)
	assert.Len(t, cgroupHierarchies(unified), 1)
}

func TestUnescapeMountInfo(t *testing.T) {
	assert.Equal(t, "a b\tc\\d", unescapeMountInfo(`a\040b\011c\134d`))
	assert.Equal(t, `trailing\04`, unescapeMountInfo(`trailing\04`))
	assert.Equal(t, `bad\999`, unescapeMountInfo(`bad\999`))
}

func TestWithoutOption(t *testing.T) {
	assert.Equal(t, "newinstance,mode=0620", withoutOption("newinstance,gid=5,mode=0620", "gid="))
}
