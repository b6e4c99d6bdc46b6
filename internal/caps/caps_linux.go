package caps

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// KernelLast returns the kernel's CAP_LAST_CAP from
// /proc/sys/kernel/cap_last_cap, or [Last] if that file cannot be read.
func KernelLast() int { return kernelLast() }

// kernelLast reads cap_last_cap once per process: it cannot change while
// the kernel runs.
var kernelLast = sync.OnceValue(func() int {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return Last
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(data)))
	if err != nil || n < 0 || n > 63 {
		return Last
	}
	return n
})

// DropBounding removes from the calling thread's bounding set every
// capability up to last that is not in keep. It needs CAP_SETPCAP and acts
// on the calling thread only; call it on a locked OS thread that then execs.
func DropBounding(keep []int, last int) error {
	m := Mask(keep)
	for i := 0; i <= last; i++ {
		if m&(1<<uint(i)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(i), 0, 0, 0); err != nil {
			if err == unix.EINVAL { // the kernel does not know this one
				continue
			}
			return &fs.PathError{Op: "prctl PR_CAPBSET_DROP", Path: Name(i), Err: err}
		}
	}
	return nil
}

// SetKeepCaps sets or clears PR_SET_KEEPCAPS on the calling thread, so that
// its permitted set survives a change from uid 0 to another uid.
func SetKeepCaps(on bool) error {
	v := uintptr(0)
	if on {
		v = 1
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, v, 0, 0, 0); err != nil {
		return &fs.PathError{Op: "prctl PR_SET_KEEPCAPS", Path: strconv.Itoa(int(v)), Err: err}
	}
	return nil
}

// Set makes set the calling thread's permitted and effective capabilities,
// empties its inheritable set (CVE-2022-29162) and clears its ambient set.
// It acts on the calling thread only.
func Set(set []int) error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return &fs.PathError{Op: "prctl PR_CAP_AMBIENT_CLEAR_ALL", Path: "ambient", Err: err}
	}
	m := Mask(set)
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	data[0].Permitted = uint32(m)
	data[0].Effective = uint32(m)
	data[1].Permitted = uint32(m >> 32)
	data[1].Effective = uint32(m >> 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return &fs.PathError{Op: "capset", Path: fmt.Sprintf("%#x", m), Err: err}
	}
	return nil
}
