package berth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

func TestBuildRun(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "overlay")
	testutil.RequireFeature(t, "tool:busybox")
	testutil.CheckLeaks(t)
	e := newBuildEnv(t, true)
	busyboxImage(t, e)
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{
		"Dockerfile": `FROM busybox:test
ARG GREETING=hello
ENV WHO=world
WORKDIR /app
RUN echo "$GREETING $WHO" > out.txt && id -u > uid.txt
USER user
RUN ["/bin/sh", "-c", "id -un > /tmp/who"]
`,
	})
	rec := &eventRecorder{}
	img, err := berth.Build(t.Context(), ctxDir, e.opts(rec))
	require.NoError(t, err)
	got := imageLayers(t, e.store, img)
	require.Len(t, got, 3)
	assert.Equal(t, []string{"d 0755 0:0 0 app/", "- 0644 0:0 0 app/out.txt " + contentHash("hello world\n"),
		"- 0644 0:0 0 app/uid.txt " + contentHash("0\n")}, got[1])
	assert.Equal(t, []string{"d 1777 0:0 0 tmp/", "- 0644 1000:1000 0 tmp/who " + contentHash("user\n")}, got[2])
	cfg := imageConfig(t, e.store, img)
	rc := cfg["config"].(map[string]any)
	assert.Equal(t, "/app", rc["WorkingDir"])
	assert.Equal(t, "user", rc["User"])
	assert.Equal(t, []any{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "WHO=world"}, rc["Env"])

	// The second build finds every step in the cache.
	rec2 := &eventRecorder{}
	img2, err := berth.Build(t.Context(), ctxDir, e.opts(rec2))
	require.NoError(t, err)
	assert.Equal(t, img.Digest(), img2.Digest())
	for _, o := range rec2.outcomes() {
		if strings.HasPrefix(o, "RUN") {
			assert.Contains(t, o, "cached")
		}
	}
}

func TestBuildRunFailure(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "overlay")
	testutil.RequireFeature(t, "tool:busybox")
	testutil.CheckLeaks(t)
	e := newBuildEnv(t, true)
	busyboxImage(t, e)
	ctxDir := t.TempDir()
	writeTree(t, ctxDir, map[string]string{
		"Dockerfile": "FROM busybox:test\nRUN echo about to fail; echo oops >&2; exit 3\n",
	})
	_, err := berth.Build(t.Context(), ctxDir, e.opts(nil))
	var re *berth.RunError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, 3, re.ExitCode)
	assert.Contains(t, re.Output, "about to fail\n")
	assert.Contains(t, re.Output, "oops\n")
	assert.True(t, strings.HasPrefix(err.Error(), "Dockerfile:2: RUN echo about to fail; echo oops >&2; exit 3: command exited with code 3"), err.Error())
}

func TestBuildOnbuildTriggers(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireFeature(t, "overlay")
	testutil.RequireFeature(t, "tool:busybox")
	e := newBuildEnv(t, true)
	busyboxImage(t, e)
	parentDir := t.TempDir()
	writeTree(t, parentDir, map[string]string{
		"Dockerfile": "FROM busybox:test\nONBUILD RUN echo triggered > /onbuild.txt\nONBUILD COPY app.conf /app/\n",
	})
	opts := e.opts(nil)
	opts.Tags = []string{"parent:1"}
	_, err := berth.Build(t.Context(), parentDir, opts)
	require.NoError(t, err)

	childDir := t.TempDir()
	writeTree(t, childDir, map[string]string{"Dockerfile": "FROM parent:1\nLABEL child=1\n", "app.conf": "conf"})
	rec := &eventRecorder{}
	img, err := berth.Build(t.Context(), childDir, e.opts(rec))
	require.NoError(t, err)
	got := imageLayers(t, e.store, img)
	require.Len(t, got, 3)
	assert.Equal(t, []string{"- 0644 0:0 0 onbuild.txt " + contentHash("triggered\n")}, got[1])
	assert.Equal(t, []string{"d 0755 0:0 0 app/", "- 0644 0:0 0 app/app.conf " + contentHash("conf")}, got[2])
	rc := imageConfig(t, e.store, img)["config"].(map[string]any)
	assert.NotContains(t, rc, "OnBuild", "triggers are not inherited further")
	assert.Equal(t, []string{"FROM parent:1: done", "RUN echo triggered > /onbuild.txt: done",
		"COPY app.conf /app/: done", "LABEL child=1: done"}, rec.outcomes())
}

func TestBuildRunUnsupported(t *testing.T) {
	tests := []struct{ name, run string }{
		{"secret mount", "RUN --mount=type=secret,id=x cat /run/secrets/x"},
		{"insecure", "RUN --security=insecure true"},
		{"device", "RUN --device=/dev/fuse true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBuildEnv(t, false)
			ctxDir := t.TempDir()
			writeTree(t, ctxDir, map[string]string{"Dockerfile": "FROM scratch\n" + tt.run + "\n"})
			_, err := berth.Build(t.Context(), ctxDir, e.opts(nil))
			require.ErrorIs(t, err, errors.ErrUnsupported)
			assert.Contains(t, err.Error(), "Dockerfile:2:")
		})
	}
}
