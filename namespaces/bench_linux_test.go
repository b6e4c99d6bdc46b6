package namespaces_test

import (
	"context"
	"os/exec"
	"testing"

	"github.com/berthlabs/berth/internal/testutil"
	"github.com/berthlabs/berth/namespaces"
)

func init() {
	namespaces.Register("bench-noop", func(context.Context) error { return nil })
}

// BenchmarkCommandRun measures one re-execution of the sealed binary as an
// entrypoint that returns at once, without new namespaces.
func BenchmarkCommandRun(b *testing.B) {
	for b.Loop() {
		cmd, err := namespaces.Command(b.Context(), "bench-noop", 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommandRunAll is BenchmarkCommandRun in new namespaces of every
// kind in All.
func BenchmarkCommandRunAll(b *testing.B) {
	testutil.RequireRoot(b)
	for b.Loop() {
		cmd, err := namespaces.Command(b.Context(), "bench-noop", namespaces.All)
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetup measures a child in new namespaces that sets up a rootfs
// with Docker's defaults: the re-execution, RootFS.Setup and the exit.
func BenchmarkSetup(b *testing.B) {
	testutil.RequireRoot(b)
	root := testutil.Rootfs(b)
	conf, err := jsonString(defaultRootFS(root))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		cmd, err := namespaces.Command(b.Context(), "test-rootfs", namespaces.All, conf)
		if err != nil {
			b.Fatal(err)
		}
		out, err := cmd.Output()
		if err != nil || string(out) != "setup: ok\n" {
			b.Fatalf("%v: %s", err, out)
		}
	}
}

// BenchmarkExecSelfUnsealed is the baseline for BenchmarkCommandRun: the
// same entrypoint started from /proc/self/exe, the unsealed binary.
func BenchmarkExecSelfUnsealed(b *testing.B) {
	for b.Loop() {
		cmd := exec.CommandContext(b.Context(), "/proc/self/exe")
		cmd.Args[0] = namespaces.ReservedPrefix + ":bench-noop"
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
	}
}
