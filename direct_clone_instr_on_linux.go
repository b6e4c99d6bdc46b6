//go:build race || msan || asan

package berth

// instrumented: the race detector or a sanitizer is built in. Its hooks
// (the race detector's function entry and exit, called even around a
// //go:norace function when assembly calls it) would run in a child that
// shares this process's memory, on the forking goroutine's state: such
// builds fork the copying way.
const instrumented = true
