package berth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

// tenSteps copies testdata/build/29-ten-steps to a new directory.
func tenSteps(t *testing.T) string {
	t.Helper()
	return contextCopy(t, buildCase{name: "ctx", dir: filepath.Join("testdata", "build", "29-ten-steps")})
}

func (s *suiteEnv) buildTen(t *testing.T, dir string, rec *eventRecorder) *berth.Image {
	t.Helper()
	opts := s.opts(rec)
	opts.Args = map[string]string{"BASE": s.base}
	img, err := berth.Build(t.Context(), dir, opts)
	require.NoError(t, err)
	return img
}

// stepOutcomes maps the layer steps of the ten-step build to their
// outcome.
func stepOutcomes(rec *eventRecorder) map[string]string {
	out := map[string]string{}
	for _, o := range rec.outcomes() {
		ins, kind, _ := strings.Cut(o, ": ")
		if strings.HasPrefix(ins, "RUN") || strings.HasPrefix(ins, "COPY") {
			out[ins] = kind
		}
	}
	return out
}

func TestBuildCache(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	s := newSuiteEnv(t)
	dir := tenSteps(t)
	first := &eventRecorder{}
	img := s.buildTen(t, dir, first)
	for ins, kind := range stepOutcomes(first) {
		assert.Equal(t, "done", kind, ins)
	}

	t.Run("rebuild hits every step", func(t *testing.T) {
		rec := &eventRecorder{}
		start := time.Now()
		again := s.buildTen(t, dir, rec)
		t.Logf("cached rebuild: %v", time.Since(start))
		assert.Equal(t, img.Digest(), again.Digest())
		got := stepOutcomes(rec)
		assert.Len(t, got, 6)
		for ins, kind := range got {
			assert.Equal(t, "cached", kind, ins)
		}
	})

	t.Run("modification times do not count", func(t *testing.T) {
		later := time.Now().Add(time.Hour)
		require.NoError(t, os.Chtimes(filepath.Join(dir, "src", "main.go"), later, later))
		rec := &eventRecorder{}
		assert.Equal(t, img.Digest(), s.buildTen(t, dir, rec).Digest())
		for ins, kind := range stepOutcomes(rec) {
			assert.Equal(t, "cached", kind, ins)
		}
	})

	t.Run("an edited file rebuilds from the COPY that reads it", func(t *testing.T) {
		p := filepath.Join(dir, "src", "main.go")
		orig, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, []byte("package main\n\nfunc main() { println(1) }\n"), 0o644))
		t.Cleanup(func() { os.WriteFile(p, orig, 0o644) })
		rec := &eventRecorder{}
		edited := s.buildTen(t, dir, rec)
		assert.NotEqual(t, img.Digest(), edited.Digest())
		assert.Equal(t, map[string]string{
			"COPY go.mod ./":            "cached",
			"RUN cat go.mod > deps.txt": "cached",
			"COPY src/ ./src/":          "done",
			"RUN ls -R src > listing.txt && cat src/main.go src/pkg/util.go > combined.txt": "done",
			"COPY config.txt /etc/app.conf":                                             "done",
			"RUN echo \"built $APP\" > done.txt && wc -c /etc/app.conf > conf-size.txt": "done",
		}, stepOutcomes(rec))
	})

	t.Run("same inputs elsewhere give the same digest", func(t *testing.T) {
		other := newSuiteEnv(t) // another store, snapshotter and cache
		dir2 := tenSteps(t)
		old := time.Unix(1_000_000, 0)
		require.NoError(t, os.Chtimes(filepath.Join(dir2, "config.txt"), old, old))
		assert.Equal(t, img.Digest(), other.buildTen(t, dir2, nil).Digest())
	})

	t.Run("no-cache runs every step and gives the same image", func(t *testing.T) {
		rec := &eventRecorder{}
		opts := s.opts(rec)
		opts.Args = map[string]string{"BASE": s.base}
		opts.NoCache = true
		again, err := berth.Build(t.Context(), dir, opts)
		require.NoError(t, err)
		assert.Equal(t, img.Digest(), again.Digest())
		for ins, kind := range stepOutcomes(rec) {
			assert.Equal(t, "done", kind, ins)
		}
	})
}
