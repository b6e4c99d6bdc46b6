package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// v1Controllers are the v1 controllers this package manages, in the order
// their hierarchies are used (the first present answers Procs).
var v1Controllers = []string{"freezer", "pids", "memory", "cpu", "cpuacct", "cpuset", "blkio", "devices"}

// v2Controllers are enabled for the groups this package creates on v2.
var v2Controllers = []string{"cpuset", "cpu", "io", "memory", "pids", "hugetlb"}

// layout is what a probe of a root found.
type layout struct {
	mode CGMode
	// v1 maps a controller to the root directory of its hierarchy, with
	// symlinks resolved, so co-mounted controllers share a directory.
	v1 map[string]string
	// fake is set when root is not a cgroup file system.
	fake bool
}

var hostLayout = sync.OnceValue(func() layout { return probe(DefaultRoot) })

func hostMode() CGMode { return hostLayout().mode }

// probeRoot returns the host's cached probe for DefaultRoot, and probes
// any other root afresh.
func probeRoot(root string) layout {
	if root == DefaultRoot {
		return hostLayout()
	}
	return probe(root)
}

func probe(root string) layout {
	if exists(filepath.Join(root, "cgroup.controllers")) {
		return layout{mode: Unified, fake: !isFS(root, unix.CGROUP2_SUPER_MAGIC)}
	}
	l := layout{v1: map[string]string{}}
	for _, c := range v1Controllers {
		dir := v1Dir(root, c)
		if dir == "" {
			continue
		}
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		l.v1[c] = dir
		l.fake = l.fake || !isFS(dir, unix.CGROUP_SUPER_MAGIC)
	}
	switch {
	case len(l.v1) == 0:
		return layout{mode: Unavailable}
	case exists(filepath.Join(root, "unified", "cgroup.controllers")):
		l.mode = Hybrid
	default:
		l.mode = Legacy
	}
	return l
}

// v1Dir finds the hierarchy of controller c under root: root/c (systemd
// links each co-mounted controller so), or a co-mount such as
// root/cpu,cpuacct. It returns "" when there is none.
func v1Dir(root, c string) string {
	if dir := filepath.Join(root, c); exists(filepath.Join(dir, "cgroup.procs")) {
		return dir
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if !strings.Contains(e.Name(), ",") || !slices.Contains(strings.Split(e.Name(), ","), c) {
			continue
		}
		if dir := filepath.Join(root, e.Name()); exists(filepath.Join(dir, "cgroup.procs")) {
			return dir
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isFS(dir string, magic int64) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && int64(st.Type) == magic
}
