//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

var fileApplets = map[string]applet{
	"echo":     {"echo [ARGS...]", echo},
	"cat":      {"cat [FILE...]", cat},
	"ls":       {"ls [DIR]", ls},
	"mkdir":    {"mkdir DIR...", mkdir},
	"write":    {"write FILE TEXT", write},
	"openw":    {"openw FILE", openw},
	"pwd":      {"pwd", pwd},
	"stat":     {"stat PATH", stat},
	"readlink": {"readlink PATH", readlink},
	"rm":       {"rm PATH...", rm},
}

func echo(args []string) error {
	fmt.Println(strings.Join(args, " "))
	return nil
}

func cat(args []string) error {
	if len(args) == 0 {
		_, err := io.Copy(os.Stdout, os.Stdin)
		return err
	}
	for _, name := range args {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		_, err = io.Copy(os.Stdout, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func ls(args []string) error {
	dir := "."
	if len(args) > 0 {
		dir = args[0]
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	return nil
}

func mkdir(args []string) error {
	if err := need(args, 1, "mkdir DIR..."); err != nil {
		return err
	}
	for _, d := range args {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func write(args []string) error {
	if err := need(args, 2, "write FILE TEXT"); err != nil {
		return err
	}
	f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(strings.Join(args[1:], " ")); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// openw opens FILE for writing without truncating or creating it: the
// attempt a container makes on its init's /proc/PID/exe.
func openw(args []string) error {
	if err := need(args, 1, "openw FILE"); err != nil {
		return err
	}
	f, err := os.OpenFile(args[0], os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fmt.Println("opened", args[0])
	return f.Close()
}

func pwd([]string) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	fmt.Println(wd)
	return nil
}

func readlink(args []string) error {
	if err := need(args, 1, "readlink PATH"); err != nil {
		return err
	}
	target, err := os.Readlink(args[0])
	if err != nil {
		return err
	}
	fmt.Println(target)
	return nil
}

func rm(args []string) error {
	if err := need(args, 1, "rm PATH..."); err != nil {
		return err
	}
	for _, p := range args {
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}
