//go:build !linux

package testutil

import "strings"

func probe(name string) (ok bool, why string, known bool) {
	switch {
	case name == "overlay", name == "userns", name == "netns", name == "veth", name == "bridge",
		name == "cgroup2", strings.HasPrefix(name, "cgroup1:"), strings.HasPrefix(name, "cgroup2:"),
		strings.HasPrefix(name, "tool:"):
		return false, "not Linux", true
	}
	return false, "", false
}
