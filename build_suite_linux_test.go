package berth_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

var updateBuildGolden = flag.Bool("update-build", false, "rewrite testdata/build/*.golden from the builds")

// buildCase is one Dockerfile of testdata/build: the directory is the
// context, and sibling files CASE.args (NAME=VALUE lines), CASE.target,
// CASE.golden (the expected image), CASE.nobuildah (why buildah cannot
// build it) and CASE.format ("docker" to compare with buildah's Docker
// format, which keeps HEALTHCHECK, ONBUILD and SHELL).
type buildCase struct {
	name, dir string
	// context is the copy of dir the case is built from (contextCopy).
	context   string
	args      map[string]string
	target    string
	noBuildah string
	format    string
}

func buildCases(t *testing.T) []buildCase {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join("testdata", "build"))
	require.NoError(t, err)
	var out []buildCase
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		c := buildCase{name: e.Name(), dir: filepath.Join("testdata", "build", e.Name()), args: map[string]string{}}
		side := func(ext string) string {
			data, err := os.ReadFile(c.dir + ext)
			if err != nil {
				return ""
			}
			return strings.TrimSpace(string(data))
		}
		for _, line := range strings.Split(side(".args"), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				c.args[k] = v
			}
		}
		c.target, c.noBuildah, c.format = side(".target"), side(".nobuildah"), side(".format")
		out = append(out, c)
	}
	require.GreaterOrEqual(t, len(out), 25)
	return out
}

// suiteEnv is a build env with the busybox base in the store and as an
// OCI layout, named by the BASE build argument the suite passes.
type suiteEnv struct {
	*buildEnv
	base     string
	baseDiff string
}

func newSuiteEnv(t *testing.T) *suiteEnv {
	testutil.RequireFeature(t, "overlay")
	testutil.RequireFeature(t, "tool:busybox")
	e := newBuildEnv(t, true)
	img := busyboxImage(t, e)
	// A lower-case path: buildah names its build container after it.
	tmp, err := os.MkdirTemp("", "berth-base-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	layout := filepath.Join(tmp, "layout")
	require.NoError(t, e.store.ExportLayout(t.Context(), layout, []string{"busybox:test"}))
	return &suiteEnv{buildEnv: e, base: "oci:" + layout + ":docker.io/library/busybox:test",
		baseDiff: img.DiffIDs()[0].String()}
}

// contextCopy copies a case's directory to a new one whose files are 0644
// (0755 if executable) and directories 0755, whatever the checkout's
// umask made them, since modes end up in the layers.
func contextCopy(t *testing.T, c buildCase) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), c.name)
	err := filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.dir, p)
		out := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, out)
		}
		mode := os.FileMode(0o644)
		if info.Mode()&0o100 != 0 {
			mode = 0o755
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, data, mode); err != nil {
			return err
		}
		return os.Chmod(out, mode)
	})
	require.NoError(t, err)
	return dst
}

func (s *suiteEnv) build(t *testing.T, c buildCase) (*berth.Image, error) {
	opts := s.opts(nil)
	opts.Args = map[string]string{"BASE": s.base}
	for k, v := range c.args {
		opts.Args[k] = v
	}
	opts.Target = c.target
	return berth.Build(t.Context(), c.context, opts)
}

func TestBuildSuite(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	s := newSuiteEnv(t)
	for _, c := range buildCases(t) {
		t.Run(c.name, func(t *testing.T) {
			c.context = contextCopy(t, c)
			img, err := s.build(t, c)
			require.NoError(t, err)
			got := describeImage(t, s.store, img, s.baseDiff)
			golden := c.dir + ".golden"
			if *updateBuildGolden {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -run TestBuildSuite -update-build to create it")
			assert.Equal(t, string(want), got)
		})
	}
}

// describeImage prints what a build made: the runtime config, the
// history, and the layers above the base.
func describeImage(t *testing.T, store *berth.ImageStore, img *berth.Image, baseDiff string) string {
	t.Helper()
	cfg := imageConfig(t, store, img)
	var b strings.Builder
	fmt.Fprintf(&b, "created: %v\nos/arch: %v/%v\n", cfg["created"], cfg["os"], cfg["architecture"])
	if a, ok := cfg["author"]; ok {
		fmt.Fprintf(&b, "author: %v\n", a)
	}
	rc, _ := cfg["config"].(map[string]any)
	keys := make([]string, 0, len(rc))
	for k := range rc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := json.Marshal(rc[k])
		require.NoError(t, err)
		fmt.Fprintf(&b, "config.%s: %s\n", k, v)
	}
	hist, _ := cfg["history"].([]any)
	for _, h := range hist {
		hm := h.(map[string]any)
		empty := ""
		if e, _ := hm["empty_layer"].(bool); e {
			empty = " (empty)"
		}
		fmt.Fprintf(&b, "history: %v%s\n", hm["created_by"], empty)
	}
	ls := imageLayers(t, store, img)
	for i, l := range ls {
		if i == 0 && img.DiffIDs()[0].String() == baseDiff {
			fmt.Fprintf(&b, "layer %d: the base\n", i)
			continue
		}
		fmt.Fprintf(&b, "layer %d:\n", i)
		for _, line := range l {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	return b.String()
}
