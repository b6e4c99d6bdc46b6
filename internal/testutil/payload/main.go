//go:build linux

// Command payload is the multi-call program Berth's tests run inside
// containers. It is built static (CGO_ENABLED=0), needs nothing from the
// rootfs, and picks its applet from the base name of argv[0], or from its
// first argument when called as "payload" (or any name starting with it,
// such as the cached build "payload-HASH").
//
// Every applet prints plain text a test can assert on, and exits 0 on
// success, 1 on an error (printed to stderr) and 2 on bad usage.
//
// The Go runtime's cgroup-aware GOMAXPROCS is off: it would keep the cgroup
// CPU files open, and the fds applet must show only what the process was
// given.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type applet struct {
	usage string
	run   func(args []string) error
}

// usageError marks bad arguments; main exits 2 for it.
type usageError struct{ usage string }

func (e usageError) Error() string { return "usage: " + e.usage }

// exitError asks main to exit with a given code and no message.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit %d", int(e)) }

var applets map[string]applet

func init() {
	applets = map[string]applet{}
	for name, a := range fileApplets {
		applets[name] = a
	}
	for name, a := range procApplets {
		applets[name] = a
	}
	for name, a := range netApplets {
		applets[name] = a
	}
	for name, a := range sysApplets {
		applets[name] = a
	}
	applets["list"] = applet{"list", func([]string) error {
		for _, n := range Names() {
			fmt.Println(n)
		}
		return nil
	}}
}

// Names lists the applets, sorted.
func Names() []string {
	names := make([]string, 0, len(applets))
	for n := range applets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func main() {
	os.Exit(run(os.Args))
}

func run(argv []string) int {
	name := filepath.Base(argv[0])
	args := argv[1:]
	if strings.HasPrefix(name, "payload") {
		if len(args) == 0 {
			fmt.Fprintln(os.Stderr, "usage: payload APPLET [ARGS...]; payload list")
			return 2
		}
		name, args = args[0], args[1:]
	}
	a, ok := applets[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "payload: unknown applet %q\n", name)
		return 2
	}
	err := a.run(args)
	switch e := err.(type) {
	case nil:
		return 0
	case exitError:
		return int(e)
	case usageError:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, e)
		return 2
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
}

func need(args []string, n int, usage string) error {
	if len(args) < n {
		return usageError{usage}
	}
	return nil
}
