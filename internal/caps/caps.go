// Package caps names Linux capabilities, computes a container's set from
// Docker's default plus additions and drops, and applies a set to the
// calling thread (bounding, permitted, effective; inheritable and ambient
// emptied).
package caps

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnknown is wrapped by the error for a capability name Linux does not
// define.
var ErrUnknown = errors.New("unknown capability")

// names are the capabilities by number, as in linux/capability.h.
var names = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Default is Docker's and containerd's default set for a container: 14
// capabilities, in Docker's order.
var Default = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// Last is the highest capability number this package names.
var Last = len(names) - 1

// Name returns the name of capability number n ("CAP_CHOWN"), or "CAP_n"
// for a number past the table.
func Name(n int) string {
	if n >= 0 && n < len(names) {
		return names[n]
	}
	return fmt.Sprintf("CAP_%d", n)
}

// Parse returns the number of the capability called name. The "CAP_"
// prefix is optional and case does not matter ("net_admin" is
// CAP_NET_ADMIN). An unknown name is an error wrapping [ErrUnknown].
func Parse(name string) (int, error) {
	up := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(up, "CAP_") {
		up = "CAP_" + up
	}
	if i := slices.Index(names, up); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("capability %q: %w", name, ErrUnknown)
}

// Resolve returns the numbers of the default set with drop removed and add
// added, sorted, as Docker's --cap-add and --cap-drop do: "ALL" in drop
// empties the default set before add applies, "ALL" in add adds every
// capability up to last (the kernel's CAP_LAST_CAP; pass [Last] when
// unknown). A name in both add and drop is added (add wins, as in Docker).
func Resolve(add, drop []string, last int) ([]int, error) {
	set := map[int]bool{}
	if !containsAll(drop) {
		for _, n := range Default {
			i, _ := Parse(n)
			set[i] = true
		}
		for _, n := range drop {
			i, err := Parse(n)
			if err != nil {
				return nil, fmt.Errorf("dropping: %w", err)
			}
			delete(set, i)
		}
	}
	if containsAll(add) {
		for i := 0; i <= last; i++ {
			set[i] = true
		}
	}
	for _, n := range add {
		if strings.EqualFold(n, "ALL") {
			continue
		}
		i, err := Parse(n)
		if err != nil {
			return nil, fmt.Errorf("adding: %w", err)
		}
		set[i] = true
	}
	out := make([]int, 0, len(set))
	for i := range set {
		if i <= last {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out, nil
}

func containsAll(list []string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "ALL") })
}

// Mask returns set as a bit mask, the form /proc/PID/status prints.
func Mask(set []int) uint64 {
	var m uint64
	for _, i := range set {
		if i >= 0 && i < 64 {
			m |= 1 << uint(i)
		}
	}
	return m
}
