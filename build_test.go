package berth_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/dockerfile"
)

func TestBuildCopyFromScratch(t *testing.T) {
	e := newBuildEnv(t, false)
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{
		"Dockerfile": `FROM scratch
COPY a.txt /a.txt
COPY dir /opt/dir/
COPY --chown=10:20 --chmod=0600 a.txt b.txt /etc/x/
ENV A=1 B="two words"
LABEL l=v
CMD ["/a"]
`,
		".dockerignore": "dir/ignored\n",
		"a.txt":         "aaa",
		"b.txt":         "bbb",
		"dir/sub/c.txt": "ccc",
		"dir/ignored":   "no",
		"dir/link":      "-> sub/c.txt",
	})
	img, err := berth.Build(t.Context(), ctxDir, e.opts(nil))
	require.NoError(t, err)
	got := imageLayers(t, e.store, img)
	a, b, c := contentHash("aaa"), contentHash("bbb"), contentHash("ccc")
	assert.Equal(t, [][]string{
		{"- 0644 0:0 0 a.txt " + a},
		{"d 0755 0:0 0 opt/", "d 0755 0:0 0 opt/dir/", "l 0777 0:0 0 opt/dir/link -> sub/c.txt",
			"d 0755 0:0 0 opt/dir/sub/", "- 0644 0:0 0 opt/dir/sub/c.txt " + c},
		{"d 0755 10:20 0 etc/", "d 0755 10:20 0 etc/x/", "- 0600 10:20 0 etc/x/a.txt " + a, "- 0600 10:20 0 etc/x/b.txt " + b},
	}, got)
	cfg := imageConfig(t, e.store, img)
	assert.Equal(t, "1970-01-01T00:00:00Z", cfg["created"])
	rc := cfg["config"].(map[string]any)
	assert.Equal(t, []any{"PATH=" + berth.DefaultPath, "A=1", "B=two words"}, rc["Env"])
	assert.Equal(t, map[string]any{"l": "v"}, rc["Labels"])
	assert.Equal(t, []any{"/a"}, rc["Cmd"])
	assert.Len(t, cfg["history"], 6)
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		files            map[string]string
		check            func(t *testing.T, err error)
	}{{
		name:       "syntax error names file and line",
		dockerfile: "FROM scratch\nFORM x\n",
		check: func(t *testing.T, err error) {
			var pe *dockerfile.ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "Dockerfile:2: unknown instruction: FORM (did you mean FROM?)", err.Error())
		},
	}, {
		name:       "missing COPY source is named",
		dockerfile: "FROM scratch\nCOPY nothere.txt /\n",
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, fs.ErrNotExist)
			var be *berth.BuildError
			require.ErrorAs(t, err, &be)
			assert.Equal(t, 2, be.Line)
			assert.Contains(t, err.Error(), `"nothere.txt": not found in the build context`)
		},
	}, {
		name:       "ignored COPY source is not found",
		dockerfile: "FROM scratch\nCOPY secret /\n",
		files:      map[string]string{"secret": "x", ".dockerignore": "secret\n"},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, fs.ErrNotExist)
			assert.Contains(t, err.Error(), "Dockerfile:2: COPY secret /:")
		},
	}, {
		name:       "symlink out of the context is not followed",
		dockerfile: "FROM scratch\nCOPY escape /\n",
		files:      map[string]string{"escape": "-> ../../../../../../etc/hostname"},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, fs.ErrNotExist)
		},
	}, {
		name:       "wildcards do not follow a directory symlink out of the context",
		dockerfile: "FROM scratch\nCOPY out/host* /\n",
		files:      map[string]string{"out": "-> /etc"},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, fs.ErrNotExist)
		},
	}, {
		name:       "a bind mount source does not follow a symlink out of the context",
		dockerfile: "FROM scratch\nRUN --mount=type=bind,source=out,target=/x true\n",
		files:      map[string]string{"out": "-> ../../../../../../../etc"},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, fs.ErrNotExist)
		},
	}, {
		name:       "ADD of a URL is refused",
		dockerfile: "FROM scratch\nADD https://example.com/x /x\n",
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, errors.ErrUnsupported)
			assert.Contains(t, err.Error(), "Dockerfile:2:")
		},
	}, {
		name:       "unknown base image",
		dockerfile: "FROM nosuchimage:1\n",
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, fs.ErrNotExist)
			assert.Contains(t, err.Error(), "Dockerfile:1: FROM nosuchimage:1:")
		},
	}, {
		name:       "several sources need a directory destination",
		dockerfile: "FROM scratch\nCOPY a b /dest\n",
		files:      map[string]string{"a": "a", "b": "b"},
		check: func(t *testing.T, err error) {
			require.ErrorIs(t, err, fs.ErrInvalid)
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBuildEnv(t, false)
			ctxDir := t.TempDir()
			files := map[string]string{"Dockerfile": tt.dockerfile}
			for k, v := range tt.files {
				files[k] = v
			}
			writeTree(t, ctxDir, files)
			_, err := berth.Build(t.Context(), ctxDir, e.opts(nil))
			require.Error(t, err)
			tt.check(t, err)
		})
	}
}

func TestBuildSymlinkInsideContextIsFollowed(t *testing.T) {
	e := newBuildEnv(t, false)
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY link /copied\n",
		"real.txt":   "real",
		"link":       "-> /real.txt", // absolute: resolved inside the context
	})
	img, err := berth.Build(t.Context(), ctxDir, e.opts(nil))
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"- 0644 0:0 0 copied " + contentHash("real")}}, imageLayers(t, e.store, img))
}

func TestBuildCacheWithoutRun(t *testing.T) {
	e := newBuildEnv(t, false)
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY a.txt /a/\nCOPY b.txt /b/\nCOPY c.txt /c/\n",
		"a.txt":      "a", "b.txt": "b", "c.txt": "c",
	})
	build := func(dir string, env *buildEnv) (*berth.Image, []string) {
		rec := &eventRecorder{}
		img, err := berth.Build(t.Context(), dir, env.opts(rec))
		require.NoError(t, err)
		return img, rec.outcomes()
	}
	img, _ := build(ctxDir, e)
	again, outcomes := build(ctxDir, e)
	assert.Equal(t, img.Digest(), again.Digest())
	assert.Equal(t, []string{"FROM scratch: done", "COPY a.txt /a/: cached", "COPY b.txt /b/: cached", "COPY c.txt /c/: cached"}, outcomes)

	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "b.txt"), []byte("changed"), 0o644))
	edited, outcomes := build(ctxDir, e)
	assert.NotEqual(t, img.Digest(), edited.Digest())
	assert.Equal(t, []string{"FROM scratch: done", "COPY a.txt /a/: cached", "COPY b.txt /b/: done", "COPY c.txt /c/: done"}, outcomes)

	// The same inputs in another directory, store and cache: the same image.
	other := t.TempDir()
	writeTree(t, other, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY a.txt /a/\nCOPY b.txt /b/\nCOPY c.txt /c/\n",
		"a.txt":      "a", "b.txt": "changed", "c.txt": "c",
	})
	elsewhere, _ := build(other, newBuildEnv(t, false))
	assert.Equal(t, edited.Digest(), elsewhere.Digest())
}

func TestBuildSourceDateEpoch(t *testing.T) {
	e := newBuildEnv(t, false)
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /\n", "f": "x"})
	old := time.Unix(1000, 0)
	require.NoError(t, os.Chtimes(filepath.Join(ctxDir, "f"), old, old))
	opts := e.opts(nil)
	opts.Args = map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	img, err := berth.Build(t.Context(), ctxDir, opts)
	require.NoError(t, err)
	assert.Equal(t, time.Unix(1700000000, 0).UTC(), img.Created().UTC())
	// Earlier times are kept, later ones clamped.
	assert.Equal(t, [][]string{{"- 0644 0:0 1000 f " + contentHash("x")}}, imageLayers(t, e.store, img))

	opts.Args = map[string]string{"SOURCE_DATE_EPOCH": "soon"}
	_, err = berth.Build(t.Context(), ctxDir, opts)
	require.ErrorIs(t, err, fs.ErrInvalid)
}

func TestNewBuildLog(t *testing.T) {
	var buf strings.Builder
	log := berth.NewBuildLog(&buf)
	log(berth.BuildEvent{Kind: berth.StepStarted, ID: 1, Stage: "build", Step: 1, StageSteps: 2, Instruction: "FROM scratch"})
	log(berth.BuildEvent{Kind: berth.StepDone, ID: 1, Duration: 1500 * time.Millisecond})
	log(berth.BuildEvent{Kind: berth.StepStarted, ID: 2, Stage: "build", Step: 2, StageSteps: 2, Instruction: "COPY a /"})
	log(berth.BuildEvent{Kind: berth.StepCached, ID: 2})
	log(berth.BuildEvent{Kind: berth.StepFailed, ID: 3, Err: errors.New("two\nlines")})
	assert.Equal(t, "#1 [build 1/2] FROM scratch\n#1 DONE 1.5s\n#2 [build 2/2] COPY a /\n#2 CACHED\n#3 ERROR: two\n#3 lines\n", buf.String())
}

func TestBuildDockerfileOptions(t *testing.T) {
	e := newBuildEnv(t, false)
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{
		"build/app.Dockerfile":              "FROM scratch AS one\nCOPY a /one\nFROM scratch AS two\nCOPY a /two\nLABEL from=file\n",
		"build/app.Dockerfile.dockerignore": "a\n",
		"a":                                 "a",
	})
	opts := e.opts(nil)
	opts.Dockerfile = "build/app.Dockerfile"
	_, err := berth.Build(t.Context(), ctxDir, opts)
	require.ErrorIs(t, err, fs.ErrNotExist, "the Dockerfile's own ignore file applies")

	opts.DockerfileContent = []byte("FROM scratch AS one\nCOPY a /one\nFROM scratch AS two\nCOPY a /two\n")
	opts.Target = "one"
	opts.Labels = map[string]string{"built-by": "test"}
	opts.Tags = []string{"opts:1", "registry.example/opts:2"}
	img, err := berth.Build(t.Context(), ctxDir, opts)
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"- 0644 0:0 0 one " + contentHash("a")}}, imageLayers(t, e.store, img))
	assert.Equal(t, map[string]string{"built-by": "test"}, img.Config().Config.Labels)
	info, err := e.store.Inspect(t.Context(), "opts:1")
	require.NoError(t, err)
	assert.Equal(t, []string{"docker.io/library/opts:1", "registry.example/opts:2"}, info.Names)
}

func TestBuildCopyFromImage(t *testing.T) {
	e := newBuildEnv(t, false)
	first := t.TempDir()
	writeTree(t, first, map[string]string{"Dockerfile": "FROM scratch\nCOPY tool /usr/bin/tool\n", "tool": "tool"})
	opts := e.opts(nil)
	opts.Tags = []string{"tools:1"}
	_, err := berth.Build(t.Context(), first, opts)
	require.NoError(t, err)

	second := t.TempDir()
	writeTree(t, second, map[string]string{"Dockerfile": "FROM scratch\nCOPY --from=tools:1 /usr/bin/tool /bin/\n"})
	img, err := berth.Build(t.Context(), second, e.opts(nil))
	require.NoError(t, err)
	uid := os.Geteuid() // the copy snapshotter's files belong to the caller
	assert.Equal(t, [][]string{{
		"d 0755 0:0 0 bin/",
		fmt.Sprintf("- 0644 %d:%d 0 bin/tool %s", uid, os.Getegid(), contentHash("tool")),
	}}, imageLayers(t, e.store, img))
}
