package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/benchmarks/internal/peer"
	"github.com/berthlabs/berth/internal/testutil"
)

// BenchmarkLifecycle measures one container lifecycle of `/bin/true` on
// the same payload rootfs, in the same run: Berth in-process, Berth through
// its CLI (examples/berth), `runc run` and `crun run` on an OCI bundle made
// with `runc spec`. Run it as root:
//
//	go test -run '^$' -bench Lifecycle -benchtime 50x ./benchmarks/runtime
func BenchmarkLifecycle(b *testing.B) {
	testutil.RequireRoot(b)
	rootfs := testutil.Rootfs(b)
	stateDir := b.TempDir()
	b.Run("berth-inprocess", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			c := &berth.Container{RootFS: rootfs, Args: []string{"/bin/true"}, StateDir: stateDir}
			code, err := c.Run(b.Context())
			if err != nil || code != 0 {
				b.Fatalf("run: %d %v", code, err)
			}
		}
	})
	b.Run("berth-cli", func(b *testing.B) {
		cli := buildCLI(b)
		for b.Loop() {
			out, err := exec.Command(cli, "--state-dir", stateDir, "run", "--rootfs", rootfs, "/bin/true").CombinedOutput()
			if err != nil {
				b.Fatalf("berth run: %v: %s", err, out)
			}
		}
	})
	bundle := makeBundle(b, rootfs)
	for _, rt := range []string{"runc", "crun"} {
		b.Run(rt, func(b *testing.B) {
			testutil.RequireFeature(b, "tool:"+rt)
			peerLoop(b, rt, bundle)
		})
	}
}

// peerLoop runs `RT run` b.N times. For crun it runs them on a thread in
// a private mount namespace where the cgroup2 mount's cgroup.controllers
// reads empty: crun 1.8 refuses this host's hybrid layout otherwise
// (shared/recipes/runtime-peers/hide-v2-controllers.sh). The namespace is
// set up once, outside the timed loop.
func peerLoop(b *testing.B, rt, bundle string) {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with its namespace
		if rt == "crun" {
			if err := peer.HideV2Controllers(b.TempDir()); err != nil {
				done <- err
				return
			}
		}
		for i := 0; b.Loop(); i++ {
			id := fmt.Sprintf("bench-%s-%d", rt, i)
			cmd := exec.Command(rt, "--root", filepath.Join(bundle, "state-"+rt), "run", "--bundle", bundle, id)
			if out, err := cmd.CombinedOutput(); err != nil {
				done <- fmt.Errorf("%s run: %v: %s", rt, err, out)
				return
			}
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// makeBundle writes an OCI bundle around rootfs: config.json from
// `runc spec`, running /bin/true without a terminal.
func makeBundle(b *testing.B, rootfs string) string { return makeBundleT(b, rootfs) }

func makeBundleT(b testing.TB, rootfs string) string {
	dir := b.TempDir()
	if _, err := exec.LookPath("runc"); err != nil {
		return dir
	}
	cmd := exec.Command("runc", "spec")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("runc spec: %v: %s", err, out)
	}
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		b.Fatal(err)
	}
	spec["root"] = map[string]any{"path": rootfs, "readonly": true}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/bin/true"}
	data, err = json.MarshalIndent(spec, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	return dir
}

// buildCLI builds examples/berth.
func buildCLI(b *testing.B) string { return buildCLIT(b) }

func buildCLIT(b testing.TB) string {
	bin := filepath.Join(b.TempDir(), "berth")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/berthlabs/berth/examples/berth")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building the CLI: %v: %s", err, out)
	}
	return bin
}
