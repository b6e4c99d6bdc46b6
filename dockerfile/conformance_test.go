package dockerfile

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// conformanceDir finds BuildKit's parser corpus: $BERTH_CONFORMANCE_DIR,
// else ../shared/conformance beside the module root. Under CI a missing
// corpus fails the test; elsewhere it skips.
func conformanceDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("BERTH_CONFORMANCE_DIR")
	if dir == "" {
		root, err := moduleRoot()
		require.NoError(t, err)
		dir = filepath.Join(root, "..", "shared", "conformance")
	}
	dir = filepath.Join(dir, "dockerfile")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance corpus missing under CI: %v", err)
		}
		t.Skipf("conformance corpus not found (%v); set BERTH_CONFORMANCE_DIR", err)
	}
	return dir
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

func TestConformancePositive(t *testing.T) {
	dir := filepath.Join(conformanceDir(t), "testfiles")
	cases, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, c.Name(), "Dockerfile"))
			require.NoError(t, err)
			want, err := os.ReadFile(filepath.Join(dir, c.Name(), "result"))
			require.NoError(t, err)
			syn, err := ParseSyntax(strings.NewReader(string(src)))
			require.NoError(t, err)
			assert.Equal(t, string(want), syn.Dump()+"\n")
		})
	}
}

func TestConformanceNegative(t *testing.T) {
	dir := filepath.Join(conformanceDir(t), "testfiles-negative")
	cases, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, c.Name(), "Dockerfile"))
			require.NoError(t, err)
			_, err = ParseSyntax(strings.NewReader(string(src)))
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
		})
	}
}

func TestConformanceLineNumbers(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(conformanceDir(t), "testfile-line", "Dockerfile"))
	require.NoError(t, err)
	syn, err := ParseSyntax(strings.NewReader(string(src)))
	require.NoError(t, err)
	require.Len(t, syn.Nodes, 3)
	want := [][2]int{{5, 5}, {11, 12}, {17, 31}}
	for i, n := range syn.Nodes {
		assert.Equal(t, want[i], [2]int{n.Range.Start.Line, n.Range.End.Line}, "node %d", i)
	}
}

func TestConformanceLexerEnvVars(t *testing.T) {
	f, err := os.Open(filepath.Join(conformanceDir(t), "shell", "envVarTest"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	env := Vars{"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}
	sc := bufio.NewScanner(f)
	n, ran := 0, 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(strings.TrimSpace(line), "|")
		require.Len(t, parts, 3, "line %d", n)
		platform := strings.TrimSpace(parts[0])
		in, want := strings.TrimSpace(parts[1]), strings.TrimSpace(parts[2])
		if platform == "W" || (platform == "U" && runtime.GOOS == "windows") {
			continue
		}
		ran++
		got, err := Expand(in, env)
		if want == "error" {
			assert.Error(t, err, "line %d: %q gave %q", n, in, got)
			continue
		}
		if assert.NoError(t, err, "line %d: %q", n, in) {
			assert.Equal(t, want, got, "line %d: %q", n, in)
		}
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, 228, ran)
}

func TestConformanceLexerWords(t *testing.T) {
	f, err := os.Open(filepath.Join(conformanceDir(t), "shell", "wordsTest"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	env := Vars{}
	sc := bufio.NewScanner(f)
	n, ran := 0, 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			k, v, _ := strings.Cut(strings.TrimLeft(rest, " "), "=")
			env[k] = v
			continue
		}
		parts := strings.Split(line, "|")
		require.Len(t, parts, 2, "line %d", n)
		in := strings.TrimSpace(parts[0])
		want := strings.Split(strings.TrimLeft(parts[1], " "), ",")
		got, err := ExpandWords(in, env)
		if err != nil {
			got = []string{"error"}
		}
		ran++
		assert.Equal(t, want, got, "line %d: %q", n, in)
	}
	require.NoError(t, sc.Err())
	assert.Equal(t, 24, ran)
}
