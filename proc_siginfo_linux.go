package berth

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var aLongTimeAgo = time.Unix(1, 0)

// sigchldInfo is the SIGCHLD layout of siginfo_t's union (after signo,
// errno, code and padding): si_pid, si_uid, si_status.
type sigchldInfo struct {
	signo, errno, code, _ int32
	pid                   int32
	uid                   uint32
	status                int32
}

// exitCode turns a waitid result into an exit code: the status for a
// normal exit, 128+signal for a process killed by a signal.
func exitCode(info *unix.Siginfo) int {
	ci := (*sigchldInfo)(unsafe.Pointer(info))
	switch ci.code {
	case 1: // CLD_EXITED
		return int(ci.status)
	default: // CLD_KILLED, CLD_DUMPED
		return signalExitBase + int(ci.status)
	}
}
