package cgroups

// sharesFromWeight translates a v2 cpu.weight (1..10000) to v1 cpu.shares
// (2..262144), the inverse of the formula runc and crun use.
func sharesFromWeight(w uint64) uint64 { return 2 + (w-1)*262142/9999 }

// blkioFromWeight translates a v2 io.weight (1..10000) to a v1 blkio
// weight (10..1000).
func blkioFromWeight(w uint64) uint64 { return 10 + (w-1)*990/9999 }
