package layers

// Test hooks: force the fallbacks for kernels without openat2 and
// filesystems without O_TMPFILE.
var (
	NoOpenat2      = &noOpenat2
	ForceNamedTemp = &forceNamedTemp
)

// TestHookPopulated runs between filling a snapshot dir and recording it.
var TestHookPopulated = &testHookPopulated

// TestHookTempCreated runs between creating a temporary file and locking it.
var TestHookTempCreated = &testHookTempCreated
