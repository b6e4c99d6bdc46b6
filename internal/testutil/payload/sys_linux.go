package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

var sysApplets = map[string]applet{
	"id":     {"id", id},
	"caps":   {"caps", func([]string) error { return status([]string{"Cap"}) }},
	"nnp":    {"nnp", func([]string) error { return status([]string{"NoNewPrivs"}) }},
	"mounts": {"mounts", func([]string) error { return cat([]string{"/proc/self/mountinfo"}) }},
	"fds":    {"fds", fds},
	"mknod":  {"mknod PATH [b|c|p MAJOR MINOR]", mknod},
	"mount":  {"mount SRC DST TYPE [DATA]", mount},
	"limits": {"limits", func([]string) error { return cat([]string{"/proc/self/limits"}) }},
}

// id prints "uid=U gid=G euid=E egid=F groups=A,B".
func id([]string) error {
	groups, err := syscall.Getgroups()
	if err != nil {
		return err
	}
	sort.Ints(groups)
	gs := make([]string, len(groups))
	for i, g := range groups {
		gs[i] = strconv.Itoa(g)
	}
	fmt.Printf("uid=%d gid=%d euid=%d egid=%d groups=%s\n",
		syscall.Getuid(), syscall.Getgid(), syscall.Geteuid(), syscall.Getegid(), strings.Join(gs, ","))
	return nil
}

// fds prints "N TARGET" for each open fd. It reads /proc/self/fd with raw
// system calls so that the Go runtime opens no fd (epoll) of its own, and
// leaves out the directory fd it lists with.
func fds([]string) error {
	dirfd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/proc/self/fd", Err: err}
	}
	defer unix.Close(dirfd)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.Getdents(dirfd, buf)
		if err != nil {
			return &os.PathError{Op: "getdents", Path: "/proc/self/fd", Err: err}
		}
		if n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var nums []int
	for _, n := range names {
		if fd, err := strconv.Atoi(n); err == nil && fd != dirfd {
			nums = append(nums, fd)
		}
	}
	sort.Ints(nums)
	for _, fd := range nums {
		target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil {
			continue
		}
		fmt.Printf("%d %s\n", fd, target)
	}
	return nil
}

// mknod creates a node; the default is the block device 7:0 (loop0), the
// one a default container must not be able to make.
func mknod(args []string) error {
	if err := need(args, 1, "mknod PATH [b|c|p MAJOR MINOR]"); err != nil {
		return err
	}
	kind, major, minor := "b", uint64(7), uint64(0)
	if len(args) >= 2 {
		kind = args[1]
	}
	if len(args) >= 4 {
		var err1, err2 error
		major, err1 = strconv.ParseUint(args[2], 10, 32)
		minor, err2 = strconv.ParseUint(args[3], 10, 32)
		if err1 != nil || err2 != nil {
			return usageError{"mknod PATH [b|c|p MAJOR MINOR]"}
		}
	}
	mode := map[string]uint32{"b": unix.S_IFBLK, "c": unix.S_IFCHR, "p": unix.S_IFIFO}[kind]
	if mode == 0 {
		return usageError{"mknod PATH [b|c|p MAJOR MINOR]"}
	}
	dev := int(unix.Mkdev(uint32(major), uint32(minor)))
	if err := unix.Mknod(args[0], mode|0o600, dev); err != nil {
		return &os.PathError{Op: "mknod", Path: args[0], Err: err}
	}
	fmt.Println("created", args[0])
	return nil
}

func mount(args []string) error {
	if err := need(args, 3, "mount SRC DST TYPE [DATA]"); err != nil {
		return err
	}
	data := ""
	if len(args) > 3 {
		data = args[3]
	}
	var flags uintptr
	if args[2] == "bind" {
		flags = unix.MS_BIND
	}
	if err := unix.Mount(args[0], args[1], args[2], flags, data); err != nil {
		return &os.PathError{Op: "mount", Path: args[1], Err: err}
	}
	fmt.Println("mounted", args[1])
	return nil
}
