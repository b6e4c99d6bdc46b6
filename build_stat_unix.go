//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package berth

import (
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// fileOwner returns the numeric owner of fi.
func fileOwner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return 0, 0
}

// fileRdev returns the device number of a device node fi.
func fileRdev(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.Mode()&fs.ModeDevice != 0 {
		return uint64(st.Rdev)
	}
	return 0
}

// fileID identifies the inode behind fi and its last change, so that a
// content hash can be reused while neither changes.
func fileID(fi fs.FileInfo) (dev, ino uint64, ctime int64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino), statCtime(st)
	}
	return 0, 0, 0
}

// devNumbers splits a device number into major and minor.
func devNumbers(rdev uint64) (major, minor int64) {
	return int64(unix.Major(rdev)), int64(unix.Minor(rdev))
}
