package dockerfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthlabs/berth/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
)

// corpus returns the Dockerfiles of BuildKit's parser corpus.
func corpus(tb testing.TB) [][]byte {
	tb.Helper()
	dir := os.Getenv("BERTH_CONFORMANCE_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "conformance")
	}
	files, err := filepath.Glob(filepath.Join(dir, "dockerfile", "testfiles", "*", "Dockerfile"))
	if err != nil || len(files) == 0 {
		tb.Skipf("conformance corpus not found under %s", dir)
	}
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDifferential checks that Berth's parser reads any input exactly as
// BuildKit's does: both fail, or both succeed with the same Dump.
func FuzzDifferential(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b)
	}
	f.Add([]byte("RUN <<EOF\nx\nEOF\n"))
	f.Add([]byte("COPY <<A <<'B' /d\na\nA\nb\nB\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bk, bkErr := parser.Parse(bytes.NewReader(data))
		ours, err := dockerfile.ParseSyntax(bytes.NewReader(data))
		if (bkErr != nil) != (err != nil) {
			t.Fatalf("error mismatch on %q:\nbuildkit: %v\nberth:    %v", data, bkErr, err)
		}
		if err != nil {
			return
		}
		if want, got := bk.AST.Dump(), ours.Dump(); want != got {
			t.Fatalf("dump mismatch on %q:\nbuildkit: %s\nberth:    %s", data, want, got)
		}
		if len(bk.AST.Children) != len(ours.Nodes) {
			t.Fatalf("node count")
		}
		for i, c := range bk.AST.Children {
			n := ours.Nodes[i]
			if c.StartLine != n.Range.Start.Line || c.EndLine != n.Range.End.Line {
				t.Fatalf("lines of node %d on %q: buildkit %d-%d, berth %d-%d", i, data, c.StartLine, c.EndLine, n.Range.Start.Line, n.Range.End.Line)
			}
			if len(c.Heredocs) != len(n.Heredocs) {
				t.Fatalf("heredoc count of node %d on %q", i, data)
			}
			for j, h := range c.Heredocs {
				g := n.Heredocs[j]
				if h.Name != g.Name || h.Content != g.Content || h.Expand != g.Expand || h.Chomp != g.Chomp || h.FileDescriptor != g.FileDescriptor {
					t.Fatalf("heredoc %d of node %d on %q: buildkit %+v, berth %+v", j, i, data, h, g)
				}
			}
			if strings.Join(c.PrevComment, "\n") != strings.Join(n.Comments, "\n") {
				t.Fatalf("comments of node %d on %q: %q vs %q", i, data, c.PrevComment, n.Comments)
			}
		}
		if len(bk.Warnings) != len(ours.Warnings) {
			t.Fatalf("warnings on %q: %d vs %d", data, len(bk.Warnings), len(ours.Warnings))
		}
	})
}

// FuzzLexerDifferential checks expansion and word splitting against
// BuildKit's shell lexer.
func FuzzLexerDifferential(f *testing.F) {
	for _, s := range []string{"a$b", "${a:-x}", "'a b' \"c $a\"", "${a#*x}", "${a//x/y}", "${a%%x*}", "he\\$a"} {
		f.Add(s, false, false, false)
	}
	env := map[string]string{"a": "xa b", "b": "", "PWD": "/home", "x": "*"}
	f.Fuzz(func(t *testing.T, word string, rawQuotes, rawEscapes, skipUnset bool) {
		lx := shell.NewLex('\\')
		lx.RawQuotes, lx.RawEscapes, lx.SkipUnsetEnv = rawQuotes, rawEscapes, skipUnset
		ours := dockerfile.Lexer{KeepQuotes: rawQuotes, KeepEscapes: rawEscapes, KeepUnset: skipUnset}
		benv := shell.EnvsFromSlice(envSlice(env))
		want, _, wantErr := lx.ProcessWord(word, benv)
		got, err := ours.Expand(word, dockerfile.Vars(env))
		if (wantErr != nil) != (err != nil) || (err == nil && want != got) {
			t.Fatalf("Expand(%q, q=%v e=%v u=%v): buildkit %q %v, berth %q %v", word, rawQuotes, rawEscapes, skipUnset, want, wantErr, got, err)
		}
		if err != nil && wantErr.Error() != err.Error() {
			t.Fatalf("Expand(%q) error text: buildkit %q, berth %q", word, wantErr, err)
		}
		wantW, wantErr := lx.ProcessWords(word, benv)
		gotW, err := ours.ExpandWords(word, dockerfile.Vars(env))
		if (wantErr != nil) != (err != nil) || (err == nil && strings.Join(wantW, "\x00") != strings.Join(gotW, "\x00")) {
			t.Fatalf("ExpandWords(%q): buildkit %q %v, berth %q %v", word, wantW, wantErr, gotW, err)
		}
	})
}

func envSlice(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// FuzzIgnoreDifferential checks the .dockerignore matcher against
// moby/patternmatcher, which BuildKit uses.
func FuzzIgnoreDifferential(f *testing.F) {
	f.Add("**/*.go\n!main.go", "a/main.go")
	f.Add("dir/**\n!dir/keep", "dir/keep/x")
	f.Add("[a-c]?\n", "b1")
	f.Fuzz(func(t *testing.T, patterns, file string) {
		pats := strings.Split(patterns, "\n")
		want, wantErr := patternmatcher.MatchesOrParentMatches(file, pats)
		m, err := dockerfile.NewIgnoreMatcher(pats)
		if err != nil {
			if wantErr == nil {
				if pm, _ := patternmatcher.New(pats); pm != nil {
					t.Fatalf("patterns %q: berth error %v, patternmatcher none", pats, err)
				}
			}
			return
		}
		if wantErr != nil {
			return // patternmatcher reports some bad patterns only when it reaches them
		}
		if got := m.Matches(file); got != want {
			t.Fatalf("patterns %q, file %q: patternmatcher %v, berth %v", pats, file, want, got)
		}
	})
}
