package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testutil"
)

// smokeDockerfile builds on testutil.Rootfs copied in whole; its RUNs are
// in exec form, since the payload has no shell.
const smokeDockerfile = `FROM scratch
COPY . /
ENV GREETING=hello
RUN ["/bin/write", "/built", "yes"]
RUN ["/bin/echo", "built by RUN"]
LABEL org.example.smoke=1
CMD ["/bin/cat", "/built"]
`

const failingDockerfile = `FROM scratch
COPY . /
RUN ["/bin/exit", "3"]
`

// berthRun runs the CLI binary with its own state and root directories.
type berthRun struct {
	t                *testing.T
	bin, state, root string
}

func (r berthRun) run(args ...string) (stdout, stderr string, code int) {
	r.t.Helper()
	cmd := exec.Command(r.bin, append([]string{"--state-dir", r.state, "--root", r.root}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(r.t, err)
	}
	return o.String(), e.String(), code
}

// ok runs the CLI and requires exit code 0.
func (r berthRun) ok(args ...string) string {
	r.t.Helper()
	out, errOut, code := r.run(args...)
	require.Equal(r.t, 0, code, "berth %s: %s", strings.Join(args, " "), errOut)
	return out
}

// tarNames lists the entry names of a tar archive.
func tarNames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		require.NoError(t, err)
		names = append(names, h.Name)
	}
}

func tarFileNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return tarNames(t, f)
}

// TestImageCommandsSmoke drives build, images, tag, history, save, rmi,
// load and export as separate processes, as a user would, and runs the
// image built and loaded back.
func TestImageCommandsSmoke(t *testing.T) {
	testutil.RequireRoot(t)
	bin := buildCLI(t)
	testutil.CheckLeaks(t)
	r := berthRun{t: t, bin: bin, state: t.TempDir(), root: t.TempDir()}
	ctxDir := testutil.Rootfs(t)
	require.NoError(t, os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(smokeDockerfile), 0o644))
	work := t.TempDir()

	_, errOut, code := r.run("build", "--progress", "plain", "-t", "app:1", ctxDir)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, `[stage-0 4/7] RUN ["/bin/write", "/built", "yes"]`)
	assert.Contains(t, errOut, "built by RUN", "RUN output is shown")
	assert.Contains(t, errOut, "naming to docker.io/library/app:1 done")
	_, errOut, code = r.run("build", ctxDir, "--progress=plain", "-t", "app:1")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 3, strings.Count(errOut, "CACHED"), "a rebuild hits the cache for COPY and both RUNs:\n%s", errOut)
	iid := filepath.Join(work, "iid")
	out := r.ok("build", "-q", "--iidfile", iid, "-t", "app:1", ctxDir)
	id, err := os.ReadFile(iid)
	require.NoError(t, err)
	assert.Equal(t, string(id)+"\n", out, "-q prints the ID the iidfile holds")
	require.True(t, strings.HasPrefix(out, "sha256:"), out)
	shortID := strings.TrimPrefix(string(id), "sha256:")[:12]

	bad := filepath.Join(work, "bad.Dockerfile")
	require.NoError(t, os.WriteFile(bad, []byte(failingDockerfile), 0o644))
	_, errOut, code = r.run("build", "-f", bad, ctxDir)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "bad.Dockerfile:3")
	assert.Contains(t, errOut, "exited with code 3")
	assert.Contains(t, errOut, `>>> RUN ["/bin/exit", "3"]`)
	_, _, code = r.run("build", "--no-such-flag", ctxDir)
	assert.Equal(t, 125, code, "a bad flag exits 125, as docker")

	testImagesListing(t, r, shortID, string(id))

	out = r.ok("history", "app:1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 7, "header and one line per instruction after FROM:\n%s", out)
	assert.True(t, strings.HasPrefix(lines[1], shortID), lines[1])
	assert.Contains(t, out, "RUN /bin/write /built yes")
	assert.Contains(t, lines[6], "COPY . /")

	dockerTar, ociTar := filepath.Join(work, "docker.tar"), filepath.Join(work, "oci.tar")
	r.ok("save", "-o", dockerTar, "app:1")
	assert.Contains(t, tarFileNames(t, dockerTar), "manifest.json")
	r.ok("save", "--format", "oci", "-o", ociTar, "app:1")
	assert.Contains(t, tarFileNames(t, ociTar), "index.json")

	out = r.ok("rmi", "app:1", "app:2")
	assert.Equal(t, "Untagged: app:1\nUntagged: app:2\nDeleted: "+string(id)+"\n", out)
	assert.Empty(t, r.ok("images", "-q"))
	_, errOut, code = r.run("rmi", "app:1")
	assert.Equal(t, 1, code, errOut)

	assert.Equal(t, "Loaded image: app:1\n", r.ok("load", "-i", dockerTar))
	assert.Equal(t, "yes", r.ok("run", "app:1"), "the loaded image runs its CMD")
	assert.Equal(t, "Loaded image: app:1\n", r.ok("load", "-i", ociTar))
	assert.Equal(t, shortID+"\n", r.ok("images", "-q"), "loading the same image again changes nothing")

	testExport(t, r, work)
}

// testImagesListing checks images and tag on the built image app:1.
func testImagesListing(t *testing.T, r berthRun, shortID, id string) {
	out := r.ok("images")
	assert.Regexp(t, `^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE\napp +1 +`+shortID+` +56 years ago +\d`, out)
	out = r.ok("images", "--digests", "--no-trunc")
	assert.Regexp(t, `REPOSITORY +TAG +DIGEST +IMAGE ID`, out)
	assert.Regexp(t, `app +1 +sha256:[0-9a-f]{64} +`+id, out)
	r.ok("tag", "app:1", "app:2")
	_, _, code := r.run("tag", "no-such-image", "x")
	assert.Equal(t, 1, code)
	out = r.ok("images", "--format", "json", "app")
	var rows []imageRow
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var row imageRow
		require.NoError(t, json.Unmarshal([]byte(line), &row), line)
		rows = append(rows, row)
	}
	require.Len(t, rows, 2)
	assert.Equal(t, []string{"1", "2"}, []string{rows[0].Tag, rows[1].Tag})
	assert.Equal(t, shortID, rows[0].ID)
	assert.Equal(t, "1970-01-01 00:00:00 +0000 UTC", rows[0].CreatedAt, "builds are dated SOURCE_DATE_EPOCH, 0 by default")
	assert.Equal(t, "app:2\n", r.ok("images", "--format", "{{.Repository}}:{{.Tag}}", "app:2"))
	assert.Equal(t, shortID+"\n"+shortID+"\n", r.ok("images", "-q"))
}

// testExport exports a running container (through /proc/PID/root) and
// the same container stopped (through its snapshot), with a file the
// container wrote; rmi refuses the image while the container exists.
func testExport(t *testing.T, r berthRun, work string) {
	r.ok("run", "-d", "--name", "c1", "app:1", "sleep", "100")
	r.ok("exec", "c1", "write", "/new", "from exec")
	running := filepath.Join(work, "running.tar")
	r.ok("export", "-o", running, "c1")
	names := tarFileNames(t, running)
	assert.Subset(t, names, []string{"new", "built", "bin/payload", "etc/passwd", "proc/", "sys/"})
	for _, n := range names {
		assert.False(t, strings.HasPrefix(n, "proc/") && n != "proc/", "mounts are not exported: %s", n)
	}
	_, errOut, code := r.run("rmi", "app:1")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "conflict")
	r.ok("stop", "-t", "1", "c1")
	out := r.ok("export", "c1")
	assert.Subset(t, tarNames(t, strings.NewReader(out)), []string{"new", "built", "bin/payload"})
	r.ok("rm", "c1")
	out = r.ok("rmi", "app:1")
	assert.Contains(t, out, "Deleted: sha256:")
}
