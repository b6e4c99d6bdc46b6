package depcheck

import (
	"os/exec"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	module      = "github.com/berthlabs/berth"
	testSupport = module + "/internal/testutil"
)

// blocks are the independent packages; stdlibOnly marks dockerfile.
var blocks = []struct {
	name       string
	stdlibOnly bool
}{
	{"namespaces", false},
	{"cgroups", false},
	{"layers", false},
	{"dockerfile", true},
	{"netconfig", false},
}

type pkgDeps struct {
	importPath string
	deps       []string // "path std" pairs from go list
}

// listDeps returns, for every package under module/name (tests excluded),
// its transitive dependencies with whether each is in the standard library.
func listDeps(t *testing.T, name string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", module+"/"+name+"/...")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go list %s: %s", name, out)
	deps := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		require.Len(t, f, 2, "go list line %q", line)
		deps[f[0]] = f[1] == "true"
	}
	return deps
}

// within reports whether p is the block itself or one of its subpackages.
func within(p, block string) bool {
	root := path.Join(module, block)
	return p == root || strings.HasPrefix(p, root+"/")
}

func TestImportDirection(t *testing.T) {
	for _, b := range blocks {
		t.Run(b.name, func(t *testing.T) {
			for dep, std := range listDeps(t, b.name) {
				switch {
				case within(dep, b.name):
				case dep == testSupport && !b.stdlibOnly:
					// The exported conformance suites (layers/layertest)
					// gate their privileged parts with testutil.RequireRoot.
				case dep == module || strings.HasPrefix(dep, module+"/"):
					assert.Failf(t, "forbidden import", "%s depends on %s: the five packages never import one another, the root or internal/", b.name, dep)
				case b.stdlibOnly && !std:
					assert.Failf(t, "forbidden import", "%s depends on %s: it imports only the standard library", b.name, dep)
				}
			}
		})
	}
}

func TestWithin(t *testing.T) {
	assert.True(t, within(module+"/layers", "layers"))
	assert.True(t, within(module+"/layers/layertest", "layers"))
	assert.False(t, within(module+"/layersx", "layers"))
	assert.False(t, within(module, "layers"))
}
