package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// probe reports whether feature name is present, why not, and whether the
// name is known at all.
func probe(name string) (ok bool, why string, known bool) {
	switch {
	case name == "overlay":
		return probeFilesystem("overlay")
	case name == "userns":
		return probeUserNS()
	case name == "netns":
		return probeFile("/proc/self/ns/net")
	case name == "veth":
		return probeLink(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "probe0"}, PeerName: "probe1"})
	case name == "bridge":
		return probeLink(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "probebr0"}})
	case name == "cgroup2":
		_, err := cgroup2Mount()
		return err == nil, errText(err), true
	case strings.HasPrefix(name, "cgroup1:"):
		return probeCgroup1(strings.TrimPrefix(name, "cgroup1:"))
	case strings.HasPrefix(name, "cgroup2:"):
		return probeCgroup2(strings.TrimPrefix(name, "cgroup2:"))
	case strings.HasPrefix(name, "tool:"):
		_, err := exec.LookPath(strings.TrimPrefix(name, "tool:"))
		return err == nil, errText(err), true
	}
	return false, "", false
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func probeFile(path string) (bool, string, bool) {
	_, err := os.Stat(path)
	return err == nil, errText(err), true
}

func probeFilesystem(fs string) (bool, string, bool) {
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false, err.Error(), true
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == fs {
			return true, "", true
		}
	}
	return false, fs + " not in /proc/filesystems", true
}

func probeUserNS() (bool, string, bool) {
	if ok, why, _ := probeFile("/proc/self/ns/user"); !ok {
		return false, why, true
	}
	data, err := os.ReadFile("/proc/sys/user/max_user_namespaces")
	if err == nil && strings.TrimSpace(string(data)) == "0" {
		return false, "user.max_user_namespaces is 0", true
	}
	return true, "", true
}

// probeLink creates link in a throwaway network namespace on a thread that
// is discarded afterwards, so nothing outside that namespace is touched.
func probeLink(link netlink.Link) (bool, string, bool) {
	type result struct{ err error }
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its netns
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{fmt.Errorf("unshare(CLONE_NEWNET): %w", err)}
			return
		}
		ch <- result{netlink.LinkAdd(link)}
	}()
	r := <-ch
	return r.err == nil, errText(r.err), true
}

// cgroupMount is one cgroup hierarchy from /proc/self/mountinfo.
type cgroupMount struct {
	fsType  string // "cgroup" or "cgroup2"
	point   string
	options []string // super options: the v1 controllers
}

func cgroupMounts() ([]cgroupMount, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []cgroupMount
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(fields) < sep+4 || len(fields) < 5 {
			continue
		}
		fsType := fields[sep+1]
		if fsType != "cgroup" && fsType != "cgroup2" {
			continue
		}
		out = append(out, cgroupMount{fsType: fsType, point: fields[4], options: strings.Split(fields[sep+3], ",")})
	}
	return out, sc.Err()
}

func cgroup2Mount() (string, error) {
	ms, err := cgroupMounts()
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		if m.fsType == "cgroup2" {
			return m.point, nil
		}
	}
	return "", fmt.Errorf("no cgroup2 mount")
}

func probeCgroup1(ctrl string) (bool, string, bool) {
	ms, err := cgroupMounts()
	if err != nil {
		return false, err.Error(), true
	}
	for _, m := range ms {
		if m.fsType != "cgroup" {
			continue
		}
		for _, o := range m.options {
			if o == ctrl {
				return true, "", true
			}
		}
	}
	return false, "no cgroup v1 hierarchy with " + ctrl, true
}

func probeCgroup2(ctrl string) (bool, string, bool) {
	point, err := cgroup2Mount()
	if err != nil {
		return false, err.Error(), true
	}
	data, err := os.ReadFile(point + "/cgroup.controllers")
	if err != nil {
		return false, err.Error(), true
	}
	for _, c := range strings.Fields(string(data)) {
		if c == ctrl {
			return true, "", true
		}
	}
	return false, fmt.Sprintf("controller %s not in %s/cgroup.controllers", ctrl, point), true
}
