package dockerfile

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDepsStandardLibraryOnly fails if the package imports anything but
// the standard library.
func TestDepsStandardLibraryOnly(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	require.NoError(t, err)
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/berthlabs/berth/dockerfile" {
			t.Errorf("dockerfile imports non-standard package %s", p)
		}
	}
}
