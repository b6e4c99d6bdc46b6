// Command build-bench times Berth's Dockerfile builds against buildah
// bud in one run, on the same ten-step Dockerfile
// (testdata/build/29-ten-steps) and the same local busybox base: a cold
// build (every step runs), a fully cached rebuild, and a rebuild after
// one context file changed. It needs root, busybox-static, buildah and
// runc, and prints a Markdown table.
//
//	go run . -n 5
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func main() {
	if handled, err := berth.Dispatch(context.Background()); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	n := flag.Int("n", 5, "builds of each kind")
	src := flag.String("dockerfile-dir", "../../testdata/build/29-ten-steps", "the build context")
	skipBuildah := flag.Bool("skip-buildah", false, "time Berth only")
	flag.Parse()
	if err := run(context.Background(), *n, *src, *skipBuildah); err != nil {
		fmt.Fprintln(os.Stderr, "build-bench:", err)
		os.Exit(1)
	}
}

// timings are the durations of one kind of build.
type timings []time.Duration

func (t timings) median() time.Duration {
	s := slices.Clone(t)
	slices.Sort(s)
	return s[len(s)/2]
}

func (t timings) min() time.Duration { return slices.Min(t) }

func run(ctx context.Context, n int, src string, skipBuildah bool) error {
	work, err := os.MkdirTemp("", "berth-build-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ctxDir := filepath.Join(work, "ctx")
	if out, err := exec.Command("cp", "-r", src, ctxDir).CombinedOutput(); err != nil {
		return fmt.Errorf("copying the context: %v: %s", err, out)
	}
	b, err := newBerthBench(ctx, work)
	if err != nil {
		return err
	}
	defer b.close()
	results := map[string]timings{}
	digests := map[string][]string{}
	edit := 0
	editFile := filepath.Join(ctxDir, "src", "main.go")
	berthEdit := func() (string, error) {
		edit++
		if err := os.WriteFile(editFile, fmt.Appendf(nil, "package main\n\nfunc main() { println(%d) }\n", edit), 0o644); err != nil {
			return "", err
		}
		return b.build(ctx, ctxDir, false)
	}
	// Warm up once: the base unpacked, the cache filled.
	if _, err := b.build(ctx, ctxDir, false); err != nil {
		return err
	}
	for range n {
		for _, k := range []struct {
			name string
			fn   func() (string, error)
		}{
			{"berth cold", func() (string, error) { return b.build(ctx, ctxDir, true) }},
			{"berth cold, empty snapshotter and cache", func() (string, error) { return b.fresh(ctx, ctxDir) }},
			{"berth cached", func() (string, error) { return b.build(ctx, ctxDir, false) }},
			{"berth one file edited", berthEdit},
		} {
			start := time.Now()
			d, err := k.fn()
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			results[k.name] = append(results[k.name], time.Since(start))
			digests[k.name] = append(digests[k.name], d)
		}
	}
	if !skipBuildah {
		if err := buildahRuns(ctx, work, ctxDir, b.layout, n, results, editFile); err != nil {
			return err
		}
	}
	report(results, digests, n)
	return nil
}

// berthBench is a store and an overlay snapshotter with the busybox base.
type berthBench struct {
	dir    string
	store  *berth.ImageStore
	sn     *layers.Overlay
	base   string
	layout string
}

func newBerthBench(ctx context.Context, work string) (*berthBench, error) {
	b := &berthBench{dir: work}
	var err error
	if b.store, err = berth.OpenImageStore(ctx, filepath.Join(work, "store")); err != nil {
		return nil, err
	}
	if b.sn, err = layers.NewOverlay(filepath.Join(work, "snapshots")); err != nil {
		return nil, err
	}
	if err := b.importBase(ctx); err != nil {
		return nil, err
	}
	b.layout = filepath.Join(work, "base-layout")
	if err := b.store.ExportLayout(ctx, b.layout, []string{"busybox:bench"}); err != nil {
		return nil, err
	}
	b.base = "oci:" + b.layout + ":docker.io/library/busybox:bench"
	return b, nil
}

func (b *berthBench) close() { b.sn.Close() }

// importBase imports a busybox root file system as busybox:bench.
func (b *berthBench) importBase(ctx context.Context) error {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		return err
	}
	root := filepath.Join(b.dir, "rootfs")
	for _, d := range []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	out, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return err
	}
	for _, a := range strings.Fields(string(out)) {
		if a != "busybox" {
			if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		return err
	}
	var buf bytes.Buffer
	epoch := time.Unix(0, 0)
	if _, err := layers.Diff(ctx, "", root, &buf, &layers.DiffOptions{SourceDateEpoch: &epoch}); err != nil {
		return err
	}
	_, err = b.store.ImportRootfs(ctx, &buf, &berth.RootfsOptions{Names: []string{"busybox:bench"}, Created: &epoch,
		Config: ocispec.ImageConfig{Env: []string{"PATH=/bin"}, Cmd: []string{"sh"}}})
	return err
}

// build builds the context and returns the image digest.
func (b *berthBench) build(ctx context.Context, dir string, noCache bool) (string, error) {
	img, err := berth.Build(ctx, dir, &berth.BuildOptions{Store: b.store, Snapshotter: b.sn, NoCache: noCache,
		Args: map[string]string{"BASE": b.base}, StateDir: filepath.Join(b.dir, "state")})
	if err != nil {
		return "", err
	}
	return img.Digest().String(), nil
}

// fresh builds with a new snapshotter and cache directory: the base is
// unpacked again and nothing is cached.
func (b *berthBench) fresh(ctx context.Context, dir string) (string, error) {
	tmp, err := os.MkdirTemp(b.dir, "fresh-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	sn, err := layers.NewOverlay(filepath.Join(tmp, "snapshots"))
	if err != nil {
		return "", err
	}
	defer sn.Close()
	img, err := berth.Build(ctx, dir, &berth.BuildOptions{Store: b.store, Snapshotter: sn,
		CacheDir: filepath.Join(tmp, "cache"), Args: map[string]string{"BASE": b.base}, StateDir: filepath.Join(b.dir, "state")})
	if err != nil {
		return "", err
	}
	return img.Digest().String(), nil
}

// buildahRuns times buildah bud --layers on the same context and base.
func buildahRuns(ctx context.Context, work, ctxDir, layout string, n int, results map[string]timings, editFile string) error {
	root := filepath.Join(work, "buildah")
	defer func() {
		_ = exec.Command("buildah", "--root", root+"/root", "--runroot", root+"/runroot", "rmi", "--all", "--force").Run()
		_ = exec.Command("umount", "-l", root+"/root/overlay").Run()
	}()
	bud := func(extra ...string) (string, error) {
		args := []string{"--root", root + "/root", "--runroot", root + "/runroot", "--storage-driver", "overlay",
			"bud", "--runtime", "runc", "--layers", "--build-arg", "BASE=oci:" + layout + ":docker.io/library/busybox:bench",
			"-t", "localhost/bench:1", "--iidfile", filepath.Join(work, "iid")}
		cmd := exec.CommandContext(ctx, "buildah", append(append(args, extra...), ctxDir)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("buildah bud: %v: %s", err, out)
		}
		id, err := os.ReadFile(filepath.Join(work, "iid"))
		return string(id), err
	}
	if _, err := bud(); err != nil { // warm up: the base in buildah's storage
		return err
	}
	edit := 1000
	for range n {
		for _, k := range []struct {
			name string
			fn   func() (string, error)
		}{
			{"buildah cold", func() (string, error) { return bud("--no-cache") }},
			{"buildah cached", func() (string, error) { return bud() }},
			{"buildah one file edited", func() (string, error) {
				edit++
				if err := os.WriteFile(editFile, fmt.Appendf(nil, "package main\n\nfunc main() { println(%d) }\n", edit), 0o644); err != nil {
					return "", err
				}
				return bud()
			}},
		} {
			start := time.Now()
			if _, err := k.fn(); err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			results[k.name] = append(results[k.name], time.Since(start))
		}
	}
	return nil
}

func report(results map[string]timings, digests map[string][]string, n int) {
	fmt.Printf("| build (%d runs each) | median | min |\n|---|---|---|\n", n)
	for _, k := range []string{"berth cold", "berth cold, empty snapshotter and cache", "buildah cold", "berth cached", "buildah cached", "berth one file edited", "buildah one file edited"} {
		if t, ok := results[k]; ok {
			fmt.Printf("| %s | %v | %v |\n", k, t.median().Round(time.Millisecond/10), t.min().Round(time.Millisecond/10))
		}
	}
	if bc, ok := results["buildah cold"]; ok {
		fmt.Printf("\ncold ratio berth/buildah (medians): %.2f\n", float64(results["berth cold"].median())/float64(bc.median()))
	}
	same := true
	for i, d := range digests["berth cold"] {
		same = same && d == digests["berth cached"][i]
	}
	fmt.Printf("berth: each cold build and the cached rebuild after it give the same digest: %v\n", same)
}
