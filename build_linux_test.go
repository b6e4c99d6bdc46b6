package berth_test

import (
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
