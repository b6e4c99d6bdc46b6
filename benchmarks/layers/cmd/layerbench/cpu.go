package main

import (
	"fmt"
	"syscall"
	"time"
)

// cpuTime returns the user+sys CPU time of this process and of its
// waited-for children (tar, gzip, umoci, sh, cat) so far. Reaped
// grandchildren count too: sh waits for the pipeline it runs.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// reportCPU prints the user+sys CPU time of each variant. Apply and Diff
// run in this process, so their figures include this process's garbage
// collector and anything else it does meanwhile (nothing else, here).
func reportCPU(applies, diffs []variant, cpus map[string][]time.Duration) {
	fmt.Println()
	fmt.Println("CPU time (user+sys, rusage of this process and its children):")
	fmt.Println()
	printSpread(append(applies, diffs...), cpus)
}
