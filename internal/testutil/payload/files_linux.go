package main

import (
	"fmt"
	"os"
	"syscall"
)

// stat prints "MODE UID GID SIZE" with MODE in Go's notation (e.g. -rw-r--r--).
func stat(args []string) error {
	if err := need(args, 1, "stat PATH"); err != nil {
		return err
	}
	fi, err := os.Lstat(args[0])
	if err != nil {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	fmt.Printf("%s %d %d %d\n", fi.Mode(), st.Uid, st.Gid, fi.Size())
	return nil
}
