package berth

import "github.com/berthlabs/berth/namespaces"

// SetStartHook lets tests stop the starting process at a step of Start.
func SetStartHook(f func(step string)) { startHook = f }

// ForceReexec makes every start until the test ends use the re-executed
// init instead of the direct start.
func ForceReexec(t interface{ Cleanup(func()) }) {
	forceReexec = true
	t.Cleanup(func() { forceReexec = false })
}

// DirectStartSupported reports whether this kernel allows the direct start.
func DirectStartSupported() bool { return namespaces.ProcPIDNamespaceSupported() }
