//go:build !race && !msan && !asan

package berth

// instrumented: the race detector or a sanitizer is built in (see the
// file built with them).
const instrumented = false
