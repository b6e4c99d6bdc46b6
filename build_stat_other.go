//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package berth

import "io/fs"

// fileOwner returns 0, 0: this system has no numeric owners.
func fileOwner(fs.FileInfo) (uid, gid int) { return 0, 0 }

// fileRdev returns 0: this system has no device numbers.
func fileRdev(fs.FileInfo) uint64 { return 0 }

// fileID returns zeros: content hashes are then never reused.
func fileID(fs.FileInfo) (dev, ino uint64, ctime int64) { return 0, 0, 0 }

// devNumbers returns zeros: this system has no device numbers.
func devNumbers(uint64) (major, minor int64) { return 0, 0 }
