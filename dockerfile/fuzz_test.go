package dockerfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addSeeds adds the conformance corpus (when present) as seeds.
func addSeeds(f *testing.F) {
	root, err := moduleRoot()
	if err != nil {
		return
	}
	dir := os.Getenv("BERTH_CONFORMANCE_DIR")
	if dir == "" {
		dir = filepath.Join(root, "..", "shared", "conformance")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "dockerfile", "testfiles*", "*", "Dockerfile"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	for _, s := range []string{
		"FROM a\nRUN <<EOF\nx\nEOF\n",
		"# escape=`\nFROM a\nRUN x `\n  y\n",
		"\uFEFFFROM a\r\nCOPY <<A <<-B /d\r\na\r\nA\r\n\tb\r\n\tB\r\n",
		"FROM a\nONBUILD RUN --mount=type=cache,target=/x <<EOF\ny\nEOF\n",
	} {
		f.Add(s)
	}
}

// FuzzParse checks that no input panics, that every range lies inside the
// input and that the nodes' source text, put back together, parses to
// the same Dump.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		syn, err := ParseSyntaxString(src)
		if err != nil {
			checkErrorRange(t, src, err)
			return
		}
		lines := strings.Split(src, "\n")
		for _, n := range syn.Nodes {
			checkRange(t, lines, n.Range)
			if !strings.Contains(src, n.Source) {
				t.Fatalf("source %q not in input", n.Source)
			}
		}
		for _, d := range syn.Directives {
			checkRange(t, lines, d.Range)
		}
		again, err := ParseSyntaxString(rebuild(syn))
		if err != nil {
			t.Fatalf("rebuilt source does not parse: %v\n%q", err, rebuild(syn))
		}
		if a, b := syn.Dump(), again.Dump(); a != b {
			t.Fatalf("dump changed after rebuilding from sources:\n%s\n---\n%s", a, b)
		}
		if file, err := syn.File(); err == nil {
			if p, err := file.Plan(nil); err == nil {
				_ = p.Walk(func(*Stage, Instruction) error { return nil })
			}
		}
	})
}

// rebuild joins the directives and the nodes' original text.
func rebuild(syn *Syntax) string {
	var b strings.Builder
	for _, d := range syn.Directives {
		b.WriteString("# " + d.Name + "=" + d.Value + "\n")
	}
	if len(syn.Directives) > 0 {
		b.WriteString("\n")
	}
	for _, n := range syn.Nodes {
		b.WriteString(n.Source)
		b.WriteString("\n")
	}
	return b.String()
}

func checkRange(t *testing.T, lines []string, r Range) {
	t.Helper()
	s, e := r.Start, r.End
	if s.Line < 1 || e.Line > len(lines) || s.Line > e.Line || (s.Line == e.Line && s.Column > e.Column) {
		t.Fatalf("range %v outside input of %d lines", r, len(lines))
	}
	if s.Column < 1 || s.Column > len(lines[s.Line-1])+1 || e.Column < 1 || e.Column > len(lines[e.Line-1])+1 {
		t.Fatalf("range %v has a column outside its line", r)
	}
}

func checkErrorRange(t *testing.T, src string, err error) {
	t.Helper()
	pe, ok := err.(*ParseError)
	if !ok {
		t.Fatalf("error is %T, not *ParseError: %v", err, err)
	}
	n := strings.Count(src, "\n") + 1
	if pe.Range.Start.Line < 0 || pe.Range.Start.Line > n+1 || pe.Range.End.Line > n+1 {
		t.Fatalf("error range %v outside input of %d lines", pe.Range, n)
	}
}

// FuzzExpand checks that the lexer never panics, in any mode, and that
// expanding a word without variables or special characters is identity.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"$A", "${A:-x}", "${A#*/}", "${A//a/b}", `"a\"b" 'c'`, "a\\", "${A:?m}", "<<EOF"} {
		f.Add(s, uint8(0))
	}
	env := Vars{"A": "a/b/c", "E": "", "S": "x y"}
	f.Fuzz(func(t *testing.T, word string, mode uint8) {
		lx := Lexer{KeepQuotes: mode&1 != 0, KeepEscapes: mode&2 != 0, KeepUnset: mode&4 != 0, NoQuotes: mode&8 != 0}
		if mode&16 != 0 {
			lx.Escape = '`'
		}
		_, _ = lx.Expand(word, env)
		_, _ = lx.ExpandWords(word, env)
		if !strings.ContainsAny(word, "$'\"\\`<\uFEFF") && strings.ToValidUTF8(word, "") == word {
			got, err := lx.Expand(word, env)
			if err != nil || got != word {
				t.Fatalf("plain word %q expanded to %q, %v", word, got, err)
			}
		}
	})
}
