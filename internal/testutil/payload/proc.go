//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var procApplets = map[string]applet{
	"sleep":    {"sleep SECS", sleep},
	"true":     {"true", func([]string) error { return nil }},
	"false":    {"false", func([]string) error { return exitError(1) }},
	"exit":     {"exit N", exit},
	"env":      {"env", env},
	"hostname": {"hostname", hostname},
	"alloc":    {"alloc MiB [SECS]", alloc},
	"spin":     {"spin [SECS]", spin},
	"fork":     {"fork N [SECS]", fork},
	"signals":  {"signals", signals},
	"pids":     {"pids", pids},
	"status":   {"status FIELD...", status},
}

func seconds(args []string, i int) (time.Duration, error) {
	if len(args) <= i {
		return 0, nil
	}
	f, err := strconv.ParseFloat(args[i], 64)
	if err != nil || f < 0 {
		return 0, usageError{"seconds must be a non-negative number, got " + args[i]}
	}
	return time.Duration(f * float64(time.Second)), nil
}

// pause sleeps for d, or forever when d is 0.
func pause(d time.Duration) {
	if d == 0 {
		select {}
	}
	time.Sleep(d)
}

func sleep(args []string) error {
	if err := need(args, 1, "sleep SECS"); err != nil {
		return err
	}
	d, err := seconds(args, 0)
	if err != nil {
		return err
	}
	time.Sleep(d)
	return nil
}

func exit(args []string) error {
	if err := need(args, 1, "exit N"); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 || n > 255 {
		return usageError{"exit N (0-255)"}
	}
	return exitError(n)
}

func env([]string) error {
	for _, kv := range os.Environ() {
		fmt.Println(kv)
	}
	return nil
}

func hostname([]string) error {
	h, err := os.Hostname()
	if err != nil {
		return err
	}
	fmt.Println(h)
	return nil
}

// alloc allocates MiB mebibytes, touches every page, prints "allocated N MiB"
// and holds the memory for SECS (forever when absent).
func alloc(args []string) error {
	if err := need(args, 1, "alloc MiB [SECS]"); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 {
		return usageError{"alloc MiB [SECS]"}
	}
	d, err := seconds(args, 1)
	if err != nil {
		return err
	}
	chunks := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		chunks = append(chunks, b)
	}
	fmt.Printf("allocated %d MiB\n", len(chunks))
	pause(d)
	return nil
}

// spin burns CPU for SECS (forever when absent).
func spin(args []string) error {
	d, err := seconds(args, 0)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(d)
	x := uint64(1)
	for i := 0; d == 0 || i%1_000_000 != 0 || time.Now().Before(deadline); i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	_ = x
	return nil
}

// fork starts N children that sleep, prints "forked K of N" (and the first
// error), holds them for SECS, then kills and reaps them. It fails when
// fewer than N started.
func fork(args []string) error {
	if err := need(args, 1, "fork N [SECS]"); err != nil {
		return err
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 {
		return usageError{"fork N [SECS]"}
	}
	d, err := seconds(args, 1)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		self = "/proc/self/exe"
	}
	var kids []*exec.Cmd
	var firstErr error
	for i := 0; i < n; i++ {
		c := exec.Command(self, "sleep", "3600")
		c.Args[0] = "payload"
		if err := c.Start(); err != nil {
			firstErr = err
			break
		}
		kids = append(kids, c)
	}
	fmt.Printf("forked %d of %d\n", len(kids), n)
	if firstErr != nil {
		fmt.Printf("error: %v\n", firstErr)
	}
	if d > 0 {
		time.Sleep(d)
	}
	for _, c := range kids {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	if len(kids) < n {
		return exitError(1)
	}
	return nil
}

// signals prints "ready", then the name of each signal it receives; it
// exits 143 on SIGTERM.
func signals([]string) error {
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1,
		syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGQUIT)
	fmt.Println("ready")
	for s := range ch {
		fmt.Println(s.(syscall.Signal).String())
		if s == syscall.SIGTERM {
			return exitError(143)
		}
	}
	return nil
}

func pids([]string) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	for _, n := range out {
		fmt.Println(n)
	}
	return nil
}

// status prints the lines of /proc/self/status whose field names start
// with one of the given prefixes ("Cap" gives every capability set).
func status(args []string) error {
	if err := need(args, 1, "status FIELD..."); err != nil {
		return err
	}
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(data), "\n") {
		for _, p := range args {
			if strings.HasPrefix(line, p) {
				fmt.Println(line)
				break
			}
		}
	}
	return nil
}
