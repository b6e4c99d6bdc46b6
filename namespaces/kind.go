package namespaces

import (
	"strconv"
	"strings"
)

// Kind is a set of namespace kinds, as the CLONE_NEW* bits of [clone(2)].
// Kinds combine with |: Mount|Net is the mount and network namespaces. The
// zero Kind is the empty set.
//
// The values are Linux's, so a Kind can be used directly as
// syscall.SysProcAttr.Cloneflags or as the nstype of [setns(2)].
//
// [clone(2)]: https://man7.org/linux/man-pages/man2/clone.2.html
// [setns(2)]: https://man7.org/linux/man-pages/man2/setns.2.html
type Kind uintptr

// The namespace kinds Linux offers.
const (
	Mount  Kind = 0x00020000 // CLONE_NEWNS: the mount table
	UTS    Kind = 0x04000000 // CLONE_NEWUTS: hostname and NIS domain name
	IPC    Kind = 0x08000000 // CLONE_NEWIPC: System V IPC and POSIX message queues
	PID    Kind = 0x20000000 // CLONE_NEWPID: process IDs (applies to children)
	Net    Kind = 0x40000000 // CLONE_NEWNET: network devices, addresses, routes, firewall
	User   Kind = 0x10000000 // CLONE_NEWUSER: user and group IDs, capabilities
	Cgroup Kind = 0x02000000 // CLONE_NEWCGROUP: the cgroup root a process sees
	// Time is CLONE_NEWTIME: the offsets of CLOCK_MONOTONIC and
	// CLOCK_BOOTTIME. Linux only creates it with unshare(2) or clone3(2),
	// so [Command] refuses it; handles on time namespaces work.
	Time Kind = 0x00000080
)

// All is every kind Berth isolates by default: Mount|UTS|IPC|PID|Net|Cgroup.
// It leaves out User, which needs ID maps, and Time, which clone(2) cannot
// create.
const All = Mount | UTS | IPC | PID | Net | Cgroup

// kindNames lists the kinds in the order String prints them, with the name
// each has under /proc/PID/ns.
var kindNames = []struct {
	kind Kind
	name string
}{
	{Mount, "mnt"},
	{UTS, "uts"},
	{IPC, "ipc"},
	{PID, "pid"},
	{Net, "net"},
	{User, "user"},
	{Cgroup, "cgroup"},
	{Time, "time"},
}

// known is the union of all kinds.
const known = Mount | UTS | IPC | PID | Net | User | Cgroup | Time

// String returns the kinds in k joined by "|", such as "mount|net", in the
// order mount, uts, ipc, pid, net, user, cgroup, time. Bits that are no
// namespace kind are shown in hexadecimal at the end. The empty set is
// "none".
func (k Kind) String() string {
	if k == 0 {
		return "none"
	}
	var parts []string
	for _, kn := range kindNames {
		if k&kn.kind != 0 {
			name := kn.name
			if kn.kind == Mount {
				name = "mount"
			}
			parts = append(parts, name)
		}
	}
	if rest := k &^ known; rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	return strings.Join(parts, "|")
}

// Has reports whether every kind in other is also in k.
func (k Kind) Has(other Kind) bool { return k&other == other }

// single reports whether k is exactly one known kind.
func (k Kind) single() bool {
	return k != 0 && k&(k-1) == 0 && k&^known == 0
}

// procName returns the name of k's file in /proc/PID/ns, for a single kind.
func (k Kind) procName() (string, bool) {
	for _, kn := range kindNames {
		if kn.kind == k {
			return kn.name, true
		}
	}
	return "", false
}
