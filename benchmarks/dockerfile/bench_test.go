package dockerfile

import (
	"bytes"
	"runtime"
	"syscall"
	"testing"

	"github.com/berthlabs/berth/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// benchCorpus parses every Dockerfile of BuildKit's parser corpus once
// per iteration with parse, and reports time, allocations and bytes per
// Dockerfile.
func benchCorpus(b *testing.B, parse func([]byte) error) {
	files := corpus(b)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		for _, f := range files {
			if err := parse(f); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	n := float64(b.N * len(files))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/file")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/file")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/file")
	b.ReportMetric(float64(cpu)/n, "cpu-ns/file")
}

// cpuTime is the CPU time (user and system) this process has used, in
// nanoseconds. On a shared machine it is steadier than wall time.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkParseCorpus compares Berth's parser with BuildKit's on the
// same inputs in the same run. Both produce the untyped tree; "typed"
// adds Berth's typing into stages and instructions.
func BenchmarkParseCorpus(b *testing.B) {
	b.Run("buildkit", func(b *testing.B) {
		benchCorpus(b, func(d []byte) error {
			_, err := parser.Parse(bytes.NewReader(d))
			return err
		})
	})
	b.Run("berth", func(b *testing.B) {
		benchCorpus(b, func(d []byte) error {
			_, err := dockerfile.ParseSyntax(bytes.NewReader(d))
			return err
		})
	})
	b.Run("berth-typed", func(b *testing.B) {
		benchCorpus(b, func(d []byte) error {
			syn, err := dockerfile.ParseSyntax(bytes.NewReader(d))
			if err != nil {
				return err
			}
			_, _ = syn.File() // some corpus files are not valid builds
			return nil
		})
	})
}
