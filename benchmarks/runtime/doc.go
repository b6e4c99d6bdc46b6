// Package runtime holds Berth's runtime benchmarks: one container
// lifecycle (create, start, wait, delete of `true`) in-process, through
// examples/berth, and with runc and crun on the same rootfs; and 1000 idle
// detached containers (start time and host memory per container). They
// need root, and runc and crun on PATH for the peer runs. Results and the
// commands that produced them are in RESULTS.md.
package runtime
