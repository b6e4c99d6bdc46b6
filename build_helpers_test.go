package berth_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
)

// buildEnv is an image store and a snapshotter for build tests.
type buildEnv struct {
	dir   string
	store *berth.ImageStore
	sn    layers.Snapshotter
}

// newBuildEnv makes a store and a snapshotter (overlay when overlay is
// true, else copy) under a temporary directory.
func newBuildEnv(t testing.TB, overlay bool) *buildEnv {
	t.Helper()
	dir := t.TempDir()
	store, err := berth.OpenImageStore(context.Background(), filepath.Join(dir, "store"))
	require.NoError(t, err)
	var sn layers.Snapshotter
	if overlay {
		sn, err = layers.NewOverlay(filepath.Join(dir, "snapshots"))
	} else {
		sn, err = layers.NewCopy(filepath.Join(dir, "snapshots"))
	}
	require.NoError(t, err)
	t.Cleanup(func() { sn.Close() })
	return &buildEnv{dir: dir, store: store, sn: sn}
}

// opts returns build options on the env, with a recorder of events.
func (e *buildEnv) opts(rec *eventRecorder) *berth.BuildOptions {
	o := &berth.BuildOptions{Store: e.store, Snapshotter: e.sn, StateDir: filepath.Join(e.dir, "state")}
	if rec != nil {
		o.Progress = rec.record
	}
	return o
}

// eventRecorder keeps a build's events.
type eventRecorder struct {
	mu     sync.Mutex
	events []berth.BuildEvent
}

func (r *eventRecorder) record(ev berth.BuildEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// outcomes lists "Instruction: kind" for each finished step.
func (r *eventRecorder) outcomes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.events {
		switch ev.Kind {
		case berth.StepCached, berth.StepDone, berth.StepFailed:
			out = append(out, ev.Instruction+": "+ev.Kind.String())
		}
	}
	return out
}

// writeTree writes files into dir: a key ending in "/" is a directory,
// a value starting with "-> " a symlink to the rest.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(files))
	for k := range files {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := filepath.Join(dir, k)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.Chmod(filepath.Dir(p), 0o755))
		v := files[k]
		switch {
		case strings.HasSuffix(k, "/"):
			require.NoError(t, os.MkdirAll(p, 0o755))
			require.NoError(t, os.Chmod(p, 0o755))
		case strings.HasPrefix(v, "-> "):
			require.NoError(t, os.Symlink(strings.TrimPrefix(v, "-> "), p))
		default:
			require.NoError(t, os.WriteFile(p, []byte(v), 0o644))
			require.NoError(t, os.Chmod(p, 0o644)) // whatever the umask
		}
	}
}

// imageConfig reads the raw config of img as generic JSON.
func imageConfig(t testing.TB, store *berth.ImageStore, img *berth.Image) map[string]any {
	t.Helper()
	rc, err := store.Open(context.Background(), img.Manifest().Config.Digest)
	require.NoError(t, err)
	defer rc.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(rc).Decode(&m))
	return m
}

// layerListing lists a layer's entries, one line each:
// "TYPE MODE UID:GID MTIME NAME[ -> LINK][ sha256:CONTENT]".
func layerListing(t testing.TB, r io.Reader) []string {
	t.Helper()
	rc, _, err := layers.Decompress(r)
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := []string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		line := fmt.Sprintf("%c %04o %d:%d %d %s", typeChar(hdr.Typeflag), hdr.Mode&0o7777, hdr.Uid, hdr.Gid,
			hdr.ModTime.Unix(), strings.TrimPrefix(hdr.Name, "./"))
		switch hdr.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			line += " -> " + hdr.Linkname
		case tar.TypeReg:
			h := sha256.New()
			_, err := io.Copy(h, tr)
			require.NoError(t, err)
			line += " " + hex.EncodeToString(h.Sum(nil))[:12]
		case tar.TypeChar, tar.TypeBlock:
			line += fmt.Sprintf(" %d,%d", hdr.Devmajor, hdr.Devminor)
		}
		out = append(out, line)
	}
	return out
}

func typeChar(t byte) byte {
	switch t {
	case tar.TypeDir:
		return 'd'
	case tar.TypeSymlink:
		return 'l'
	case tar.TypeLink:
		return 'h'
	case tar.TypeChar:
		return 'c'
	case tar.TypeBlock:
		return 'b'
	case tar.TypeFifo:
		return 'p'
	}
	return '-'
}

// imageLayers lists each layer of img from the store.
func imageLayers(t testing.TB, store *berth.ImageStore, img *berth.Image) [][]string {
	t.Helper()
	var out [][]string
	for _, l := range img.Layers() {
		rc, err := store.Open(context.Background(), l.Digest)
		require.NoError(t, err)
		out = append(out, layerListing(t, rc))
		rc.Close()
	}
	return out
}

// contentHash is how layerListing shows a file's content.
func contentHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

// busyboxImage imports a busybox root file system into the store as
// "busybox:test" (sh and the usual applets, /etc/passwd with root,
// "user" 1000:1000 and nobody) and returns it. It needs busybox-static.
func busyboxImage(t testing.TB, e *buildEnv) *berth.Image {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	require.NoError(t, err)
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root", "home/user", "var"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	require.NoError(t, os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky))
	data, err := os.ReadFile(bb)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755))
	out, err := exec.Command(bb, "--list").Output()
	require.NoError(t, err)
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" {
			require.NoError(t, os.Symlink("busybox", filepath.Join(root, "bin", a)))
		}
	}
	writeTree(t, root, map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":  "root:x:0:\nwheel:x:10:user\nuser:x:1000:\nnobody:x:65534:\n",
	})
	var buf bytes.Buffer
	epoch := time.Unix(0, 0)
	_, err = layers.Diff(context.Background(), "", root, &buf, &layers.DiffOptions{SourceDateEpoch: &epoch})
	require.NoError(t, err)
	info, err := e.store.ImportRootfs(context.Background(), &buf, &berth.RootfsOptions{
		Names: []string{"busybox:test"}, Created: &epoch,
		Config: ocispec.ImageConfig{Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, Cmd: []string{"sh"}}})
	require.NoError(t, err)
	return info.Image
}
