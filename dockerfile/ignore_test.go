package dockerfile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIgnoreMatches checks the matcher on cases whose results come from
// moby/patternmatcher v0.6.1 (MatchesOrParentMatches), which BuildKit
// uses for .dockerignore.
func TestIgnoreMatches(t *testing.T) {
	tests := []struct {
		patterns []string
		file     string
		want     bool
		err      string
	}{
		{[]string{"foo"}, "foo", true, ""},
		{[]string{"foo"}, "foo/bar", true, ""},
		{[]string{"foo"}, "bar/foo", false, ""},
		{[]string{"foo"}, "foobar", false, ""},
		{[]string{"*.go"}, "main.go", true, ""},
		{[]string{"*.go"}, "cmd/main.go", false, ""},
		{[]string{"*.go"}, "main.go.bak", false, ""},
		{[]string{"**/*.go"}, "cmd/main.go", true, ""},
		{[]string{"**/*.go"}, "main.go", true, ""},
		{[]string{"**/*.go"}, "a/b/c/d.go", true, ""},
		{[]string{"**/foo"}, "foo", true, ""},
		{[]string{"**/foo"}, "a/foo", true, ""},
		{[]string{"**/foo"}, "a/xfoo", false, ""},
		{[]string{"**/foo"}, "a/foo/b", true, ""},
		{[]string{"foo/**"}, "foo/a", true, ""},
		{[]string{"foo/**"}, "foo/a/b", true, ""},
		{[]string{"foo/**"}, "foo", false, ""},
		{[]string{"foo/**"}, "foobar", false, ""},
		{[]string{"**"}, "anything/at/all", true, ""},
		{[]string{"a/**/b"}, "a/b", true, ""},
		{[]string{"a/**/b"}, "a/x/b", true, ""},
		{[]string{"a/**/b"}, "a/x/y/b", true, ""},
		{[]string{"a/**/b"}, "a/x/y/bc", false, ""},
		{[]string{"a?c"}, "abc", true, ""},
		{[]string{"a?c"}, "a/c", false, ""},
		{[]string{"a?c"}, "ac", false, ""},
		{[]string{"[abc].txt"}, "a.txt", true, ""},
		{[]string{"[abc].txt"}, "d.txt", false, ""},
		{[]string{"[a-c]*"}, "b123", true, ""},
		{[]string{"[!a]*"}, "b", false, ""},
		{[]string{"[^a]*"}, "a", false, ""},
		{[]string{"\\*.txt"}, "*.txt", true, ""},
		{[]string{"\\*.txt"}, "a.txt", false, ""},
		{[]string{"a\\?b"}, "a?b", true, ""},
		{[]string{"a\\?b"}, "axb", false, ""},
		{[]string{"dir/"}, "dir/file", true, ""},
		{[]string{"/dir"}, "dir/file", false, ""},
		{[]string{"./dir"}, "dir", true, ""},
		{[]string{"dir/../other"}, "other", true, ""},
		{[]string{"node_modules"}, "node_modules/x/y.js", true, ""},
		{[]string{"node_modules"}, "src/node_modules", false, ""},
		{[]string{"*/node_modules"}, "src/node_modules/x", true, ""},
		{[]string{".git"}, ".git/HEAD", true, ""},
		{[]string{".*"}, ".env", true, ""},
		{[]string{".*"}, "a/.env", false, ""},
		{[]string{"*.md", "!README.md"}, "README.md", false, ""},
		{[]string{"*.md", "!README.md"}, "CHANGES.md", true, ""},
		{[]string{"*.md", "!README.md", "README.md"}, "README.md", true, ""},
		{[]string{"*", "!src"}, "src/main.go", false, ""},
		{[]string{"*", "!src", "src/tmp"}, "src/tmp/x", true, ""},
		{[]string{"*", "!src/keep"}, "src/keep", false, ""},
		{[]string{"*", "!src/keep"}, "src/other", true, ""},
		{[]string{"docs", "!docs/keep.md"}, "docs/keep.md", false, ""},
		{[]string{"docs", "!docs/keep.md"}, "docs/other.md", true, ""},
		{[]string{"**/*.log", "!important.log"}, "important.log", false, ""},
		{[]string{"**/*.log", "!important.log"}, "a/important.log", true, ""},
		{[]string{"a+b"}, "a+b", true, ""},
		{[]string{"a(b)"}, "a(b)", true, ""},
		{[]string{"a{b,c}"}, "a{b,c}", true, ""},
		{[]string{"a{b,c}"}, "ab", false, ""},
		{[]string{"a$"}, "a$", true, ""},
		{[]string{"a|b"}, "a|b", true, ""},
		{[]string{"a.b"}, "axb", false, ""},
		{[]string{"a.b"}, "a.b", true, ""},
		{[]string{"ab*"}, "ab/c", true, ""},
		{[]string{"ab*"}, "abc/d", true, ""},
		{[]string{" spaced "}, "spaced", true, ""},
		{[]string{"a/*/c"}, "a/b/c", true, ""},
		{[]string{"a/*/c"}, "a/b/x/c", false, ""},
		{[]string{"*/"}, "a/b", true, ""},
		{[]string{"."}, "anything", false, ""},
		{[]string{"["}, "x", false, "error"},
		{[]string{"a\\"}, "a\\", false, "error"},
		{[]string{"!a"}, "a", false, ""},
	}
	assert.GreaterOrEqual(t, len(tests), 60)
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, ";")+"|"+tt.file, func(t *testing.T) {
			m, err := NewIgnoreMatcher(tt.patterns)
			if tt.err != "" {
				require.ErrorIs(t, err, filepath.ErrBadPattern)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, m.Matches(tt.file))
		})
	}
}

func TestReadIgnore(t *testing.T) {
	src := "\uFEFF# comment\n  \n*.log\n /abs/path \n!keep.log\n! spaced \n dir/../x/ \n #not a comment\n./rel\n/\n"
	got, err := ReadIgnore(strings.NewReader(src))
	require.NoError(t, err)
	assert.Equal(t, []string{"*.log", "abs/path", "!keep.log", "!spaced", "x", "#not a comment", "rel", "/"}, got)
}

func TestIgnoreMatcherZeroAndPatterns(t *testing.T) {
	var zero *IgnoreMatcher
	assert.False(t, zero.Matches("a"))
	assert.False(t, (&IgnoreMatcher{}).Matches("a"))
	m, err := NewIgnoreMatcher([]string{"a", "!a/b", ""})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "!a/b"}, m.Patterns())
	assert.True(t, m.Exclusions())
	assert.False(t, m.Matches("."), "the context root is never excluded")
	assert.True(t, m.Matches("a/c"))
	_, err = NewIgnoreMatcher([]string{"!"})
	assert.ErrorIs(t, err, filepath.ErrBadPattern)
}

func TestLoadIgnore(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(data), 0o644))
	}
	ctx := t.Context()

	m, used, err := LoadIgnore(ctx, dir, "Dockerfile")
	require.NoError(t, err)
	assert.Empty(t, used)
	assert.False(t, m.Matches("x"))

	write(".dockerignore", "*.tmp\n")
	m, used, err = LoadIgnore(ctx, dir, "Dockerfile")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, ".dockerignore"), used)
	assert.True(t, m.Matches("a.tmp"))

	write("build/app.Dockerfile.dockerignore", "secret\n")
	m, used, err = LoadIgnore(ctx, dir, "build/app.Dockerfile")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "build", "app.Dockerfile.dockerignore"), used)
	assert.True(t, m.Matches("secret/key"))
	assert.False(t, m.Matches("a.tmp"), "the Dockerfile's own ignore file replaces .dockerignore")

	write("bad/.dockerignore", "[\n")
	_, _, err = LoadIgnore(ctx, filepath.Join(dir, "bad"), "")
	assert.ErrorIs(t, err, filepath.ErrBadPattern)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, _, err = LoadIgnore(cctx, dir, "")
	assert.ErrorIs(t, err, context.Canceled)
}
