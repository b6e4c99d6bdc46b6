package netconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNoProcessSpawning checks statically that attaching and publishing
// ports never start a process: neither the package nor anything it
// depends on imports os/exec, and the package calls no fork primitive.
func TestNoProcessSpawning(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	if _, err := os.Stat("doc.go"); err != nil {
		t.Skip("not run from the package's source directory")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").Output()
	require.NoError(t, err)
	assert.NotContains(t, strings.Fields(string(out)), "os/exec")

	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, call := range []string{"ForkExec", "StartProcess", "SYS_CLONE", "SYS_FORK", "SYS_VFORK", "SYS_EXECVE"} {
			assert.NotContains(t, string(src), call, f)
		}
	}
}
