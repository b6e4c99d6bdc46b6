// Package peer holds what Berth's peer comparisons (benchmarks/runtime,
// benchmarks/compose) share: running crun on this machine's hybrid cgroup
// layout, and the statistics they report. It is imported only by
// benchmark tests.
package peer
