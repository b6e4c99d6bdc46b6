package berth_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/internal/testutil"
)

// buildah runs buildah on a private storage under dir.
type buildah struct {
	dir string
}

func newBuildah(t *testing.T) *buildah {
	testutil.RequireFeature(t, "tool:buildah")
	testutil.RequireFeature(t, "tool:runc")
	b := &buildah{dir: t.TempDir()}
	t.Cleanup(func() {
		_, _ = b.run(t, "rmi", "--all", "--force")
		// containers/storage keeps its overlay home bind-mounted.
		_ = unix.Unmount(filepath.Join(b.dir, "root", "overlay"), unix.MNT_DETACH)
	})
	return b
}

func (b *buildah) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	full := append([]string{"--root", filepath.Join(b.dir, "root"), "--runroot", filepath.Join(b.dir, "runroot"),
		"--storage-driver", "overlay"}, args...)
	cmd := exec.CommandContext(t.Context(), "buildah", full...)
	cmd.Env = append(os.Environ(), "BUILDAH_ISOLATION=oci")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// bud builds a Dockerfile with buildah (a layer per step, all times set
// to the epoch) and returns the image pushed to a "dir:" copy.
func (b *buildah) bud(t *testing.T, dir string, args map[string]string, target, format string) *dirImage {
	t.Helper()
	if format == "" {
		format = "oci"
	}
	tag := "localhost/berth-suite/" + filepath.Base(dir) + ":1"
	cmdArgs := []string{"bud", "--runtime", "runc", "--layers", "--timestamp", "0", "--format", format, "-t", tag}
	for k, v := range args {
		cmdArgs = append(cmdArgs, "--build-arg", k+"="+v)
	}
	if target != "" {
		cmdArgs = append(cmdArgs, "--target", target)
	}
	out, err := b.run(t, append(cmdArgs, dir)...)
	require.NoError(t, err, out)
	dst := filepath.Join(b.dir, "out", filepath.Base(dir))
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	out, err = b.run(t, "push", tag, "dir:"+dst)
	require.NoError(t, err, out)
	return readDirImage(t, dst)
}

// dirImage is an image in containers/image's "dir:" format.
type dirImage struct {
	dir      string
	config   map[string]any
	layers   []string // blob file names, bottom first
	diffIDs  []string
	manifest map[string]any
}

func readDirImage(t *testing.T, dir string) *dirImage {
	t.Helper()
	img := &dirImage{dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &img.manifest))
	blob := func(d any) string {
		return strings.TrimPrefix(d.(map[string]any)["digest"].(string), "sha256:")
	}
	data, err = os.ReadFile(filepath.Join(dir, blob(img.manifest["config"])))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &img.config))
	for _, l := range img.manifest["layers"].([]any) {
		img.layers = append(img.layers, blob(l))
	}
	for _, d := range img.config["rootfs"].(map[string]any)["diff_ids"].([]any) {
		img.diffIDs = append(img.diffIDs, d.(string))
	}
	return img
}

func (d *dirImage) layerListings(t *testing.T) [][]string {
	var out [][]string
	for _, l := range d.layers {
		f, err := os.Open(filepath.Join(d.dir, l))
		require.NoError(t, err)
		out = append(out, layerListing(t, f))
		f.Close()
	}
	return out
}

// comparedConfig is the part of an image config both builders must agree
// on: the runtime config, the platform, creation time, author, and which
// history entries made layers. It leaves out buildah's version label and
// the zero-valued container fields of its Docker-format configs, sorts
// Env (buildah moves a variable it sets again to the end, where Docker
// replaces it in place) and expands EXPOSE port ranges as Docker does
// (buildah keeps "8000-8002/tcp" as one key).
func comparedConfig(cfg map[string]any, known map[string]string) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"created", "os", "architecture", "author"} {
		if v, ok := cfg[k]; ok {
			out[k] = v
		}
	}
	rc, _ := cfg["config"].(map[string]any)
	for k, v := range rc {
		switch k {
		case "Labels":
			v = withoutKey(v.(map[string]any), "io.buildah.version")
		case "Env":
			env := append([]any(nil), v.([]any)...)
			sort.Slice(env, func(i, j int) bool { return env[i].(string) < env[j].(string) })
			v = env
		case "ExposedPorts":
			v = expandPortRanges(v.(map[string]any))
		case "Hostname", "Domainname", "Image", "AttachStdin", "AttachStdout", "AttachStderr",
			"OpenStdin", "StdinOnce", "Tty":
			continue // Docker-format container fields a build does not set
		}
		if isZero(v) {
			continue
		}
		out["config."+k] = v
	}
	var empty []bool
	hist, _ := cfg["history"].([]any)
	for _, h := range hist {
		e, _ := h.(map[string]any)["empty_layer"].(bool)
		empty = append(empty, e)
	}
	out["history.empty_layer"] = empty
	for k := range known {
		delete(out, k)
	}
	return out
}

func withoutKey(m map[string]any, key string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func expandPortRanges(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		ports, proto, _ := strings.Cut(k, "/")
		lo, hi, isRange := strings.Cut(ports, "-")
		if !isRange {
			out[k] = v
			continue
		}
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(hi)
		for p := a; p <= b; p++ {
			out[strconv.Itoa(p)+"/"+proto] = v
		}
	}
	return out
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// normalizeBuildahLayer removes what buildah 1.28 adds to every RUN
// layer besides the command's changes: the mount points it creates for
// /etc/hostname, /etc/hosts and /etc/resolv.conf (empty files, and /etc
// if it made that too) and the /run directory for its own files, all
// left behind. Berth removes the mount points it had to create.
func normalizeBuildahLayer(l []string, ours []string) []string {
	artefact := func(line string) bool {
		for _, f := range []string{"etc/hostname", "etc/hosts", "etc/resolv.conf"} {
			if strings.HasSuffix(line, " "+f+" "+contentHash("")) {
				return true
			}
		}
		return strings.HasSuffix(line, " run/")
	}
	out := []string{}
	etcUsed := false
	for _, line := range l {
		if artefact(line) {
			continue
		}
		if strings.Contains(line, " etc/") && !strings.HasSuffix(line, " etc/") {
			etcUsed = true
		}
		out = append(out, line)
	}
	if etcUsed || slices.ContainsFunc(ours, func(s string) bool { return strings.HasSuffix(s, " etc/") }) {
		return out
	}
	return slices.DeleteFunc(out, func(s string) bool { return strings.HasSuffix(s, " etc/") })
}

// knownDifferences reads CASE.buildah: "FIELD: reason" lines naming
// config fields ("config.Cmd") or layers ("layer 2") where buildah 1.28
// is known to differ from Docker's behaviour, which Berth follows.
func knownDifferences(t *testing.T, c buildCase) map[string]string {
	out := map[string]string{}
	data, err := os.ReadFile(c.dir + ".buildah")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		k, why, _ := strings.Cut(line, ": ")
		out[k] = why
		t.Logf("known difference: %s: %s", k, why)
	}
	return out
}

func TestBuildMatchesBuildah(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.CheckLeaks(t)
	s := newSuiteEnv(t)
	bh := newBuildah(t)
	compared := 0
	for _, c := range buildCases(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.noBuildah != "" {
				t.Skipf("buildah cannot build it: %s", c.noBuildah)
			}
			c.context = contextCopy(t, c)
			ours, err := s.build(t, c)
			require.NoError(t, err)
			args := map[string]string{"BASE": s.base}
			for k, v := range c.args {
				args[k] = v
			}
			theirs := bh.bud(t, c.context, args, c.target, c.format)
			known := knownDifferences(t, c)
			assert.Equal(t, comparedConfig(theirs.config, known), comparedConfig(imageConfig(t, s.store, ours), known))
			ourLayers := imageLayers(t, s.store, ours)
			theirLayers := theirs.layerListings(t)
			require.Len(t, ourLayers, len(theirLayers))
			for i := range theirLayers {
				if i == 0 && theirs.diffIDs[0] == s.baseDiff {
					require.Equal(t, s.baseDiff, ours.DiffIDs()[0].String())
					continue
				}
				if _, ok := known[fmt.Sprintf("layer %d", i)]; ok {
					continue
				}
				assert.Equal(t, normalizeBuildahLayer(theirLayers[i], ourLayers[i]), ourLayers[i], "layer %d", i)
			}
			compared++
		})
	}
	t.Logf("%d Dockerfiles compared with buildah", compared)
	_ = berth.DefaultPath
}
