package layers_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// FuzzApply checks that no layer, however malformed, changes anything
// outside the target directory or makes Apply panic. The seeds are the
// attack corpus (with the victim at a fixed fake path) and a few valid
// layers.
func FuzzApply(f *testing.F) {
	const fakeBase = "/fuzz-base"
	for _, a := range attacks() {
		f.Add(a.layer(&testing.T{}, fakeBase))
	}
	f.Add(lt.MustTar(lt.Dir("a"), lt.File("a/b", "x", 0o644), lt.Symlink("a/c", "../../.."), lt.Link("a/d", "a/b")))
	f.Add(gzipBytes(f, lt.MustTar(lt.File("z", "zz", 0o600), lt.Opaque("a"), lt.Whiteout("z"))))
	f.Fuzz(func(t *testing.T, layer []byte) {
		base := lt.TempDir(t)
		outside := filepath.Join(base, "outside")
		if err := os.MkdirAll(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(outside, "victim"), []byte("original"), 0o644); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(base, "root")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		before := lt.Tree(t, base, lt.TreeOptions{})
		_, _ = layers.Apply(t.Context(), dir, bytes.NewReader(layer), &layers.ApplyOptions{Unprivileged: true, MaxSize: 1 << 20})
		after := lt.Tree(t, base, lt.TreeOptions{})
		keep := func(lines []string) []string {
			return slices.DeleteFunc(slices.Clone(lines), func(l string) bool {
				return len(l) >= 4 && l[:4] == "root" || len(l) >= 2 && l[:2] == ". "
			})
		}
		if !slices.Equal(keep(before), keep(after)) {
			t.Fatalf("outside changed:\nbefore %q\nafter  %q", keep(before), keep(after))
		}
	})
}
