package layers

import (
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The fast path of cleanEntryName gives what the general one does, for
// every name it accepts.
func TestPlainEntryName(t *testing.T) {
	names := []string{
		"a", "a/", "a/b", "a/b/", "./a", "./a/b/", "usr/share/pkg000/sub00/file00001",
		"", "/", ".", "./", "..", "../a", "a/..", "a/../b", "a//b", "/a", "a/./b", "a/.", "./.",
		"././a", "a\x00b", ".wh.a", "a/.wh..wh..opq", "...", "a/.../b", "a//", "a/b//",
	}
	for _, n := range names {
		got, ok := plainEntryName(n)
		if !ok {
			continue
		}
		want := strings.TrimPrefix(path.Clean("/"+n), "/")
		assert.Equal(t, want, got, "name %q", n)
	}
	for _, n := range []string{"", "/", ".", "..", "a//b", "/a", "a/./b", "a\x00b", "a/..", "./"} {
		_, ok := plainEntryName(n)
		assert.False(t, ok, "name %q", n)
	}
}
