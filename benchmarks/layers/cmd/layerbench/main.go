// Command layerbench measures layers.Apply and layers.Diff against GNU tar
// and umoci on the same 20,000-file, ~300 MB layer, in one run, and prints
// a Markdown table.
//
// Run it as root from benchmarks/layers (umoci unpack needs root here):
//
//	go run ./cmd/layerbench -work /var/tmp/berth-layerbench -runs 5
//
// Method: every extraction goes into a new, uniquely named directory
// under a parent marked with chattr +T; the inputs are read once before
// timing, so they come from the page cache; nothing is fsynced; trees are
// deleted only after all runs, and `sync` runs between measurements,
// outside the timed part. Variants run round-robin, so load changes on a
// shared machine spread over all of them.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth/layers"
)

type variant struct {
	name   string
	run    func(ctx context.Context, dst string) error
	repeat int // measurements per round; 0 means 1
}

func main() {
	work := flag.String("work", "/var/tmp/berth-layerbench", "work directory (inputs and extracted trees)")
	runs := flag.Int("runs", 5, "measurements per variant")
	files := flag.Int("files", 20000, "files in the generated layer")
	size := flag.Int64("size", 300<<20, "uncompressed bytes of file content")
	only := flag.String("only", "", "run only the variants whose name contains one of these comma-separated substrings")
	cpu := flag.Bool("cpu", false, "also report user+sys CPU time per variant (rusage of this process and its children)")
	verbose := flag.Bool("v", false, "print every measurement to stderr as it is taken")
	settle := flag.Duration("settle", 35*time.Second, "wait after the setup (and any deletion before it) before the first measurement")
	flag.Parse()
	opts := options{runs: *runs, files: *files, size: *size, cpu: *cpu, settle: *settle, verbose: *verbose}
	if *only != "" {
		opts.only = strings.Split(*only, ",")
	}
	if err := run(context.Background(), *work, opts); err != nil {
		fmt.Fprintln(os.Stderr, "layerbench:", err)
		os.Exit(1)
	}
}

type options struct {
	runs, files int
	size        int64
	only        []string // substrings of the variant names to run; nil: all
	cpu         bool
	// settle is waited for before the first measurement: ext4 without a
	// journal skips, one by one, inodes deleted in the last 30 s when it
	// allocates new ones, so files created right after a large tree was
	// deleted (by the previous run of this command) cost several times
	// more system time.
	settle  time.Duration
	verbose bool
}

// selected filters vs by the -only substrings.
func (o options) selected(vs []variant) []variant {
	if o.only == nil {
		return vs
	}
	var out []variant
	for _, v := range vs {
		for _, s := range o.only {
			if strings.Contains(v.name, s) {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

func run(ctx context.Context, work string, o options) error {
	runs := o.runs
	in, err := prepareInputs(ctx, work, o.files, o.size)
	if err != nil {
		return err
	}
	trees := filepath.Join(work, "trees")
	if err := os.RemoveAll(trees); err != nil { // left by an interrupted run
		return err
	}
	if err := os.MkdirAll(trees, 0o755); err != nil {
		return err
	}
	_ = exec.Command("chattr", "+T", trees).Run()
	defer os.RemoveAll(trees)

	upper := filepath.Join(trees, "upper")
	if err := os.Mkdir(upper, 0o755); err != nil {
		return err
	}
	if _, err := layers.Apply(ctx, upper, mustOpen(in.tar), nil); err != nil {
		return fmt.Errorf("making the diff source: %w", err)
	}
	sync()
	time.Sleep(o.settle)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("load average at the start: %s\n", strings.TrimSpace(string(load)))
	applies := o.selected(applyVariants(in))
	diffs := o.selected(diffVariants(upper))
	results := map[string][]time.Duration{}
	cpus := map[string][]time.Duration{}
	for r := range runs {
		for _, v := range append(applies, diffs...) {
			for k := range max(v.repeat, 1) {
				dst := filepath.Join(trees, fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(v.name, " ", "_"), r, k))
				sync()
				cpu0 := cpuTime()
				start := time.Now()
				if err := v.run(ctx, dst); err != nil {
					return fmt.Errorf("%s: %w", v.name, err)
				}
				results[v.name] = append(results[v.name], time.Since(start))
				cpus[v.name] = append(cpus[v.name], cpuTime()-cpu0)
				if o.verbose {
					fmt.Fprintf(os.Stderr, "round %d: %s: %.2f s wall, %.2f s CPU\n", r+1, v.name,
						results[v.name][len(results[v.name])-1].Seconds(), cpus[v.name][len(cpus[v.name])-1].Seconds())
				}
			}
		}
	}
	report(in, applies, diffs, results, runs)
	if o.cpu {
		reportCPU(applies, diffs, cpus)
	}
	return nil
}

func sync() { _ = exec.Command("sync").Run() }

func mustOpen(path string) *os.File {
	f, err := os.Open(path)
	if err != nil {
		panic(err)
	}
	return f
}

func applyVariants(in inputs) []variant {
	ours := func(path string) func(context.Context, string) error {
		return func(ctx context.Context, dst string) error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			_, err = layers.Apply(ctx, dst, f, nil)
			return err
		}
	}
	return []variant{
		{"layers.Apply tar", ours(in.tar), 1},
		{"tar -x", func(ctx context.Context, dst string) error {
			return tarX(ctx, dst, "-xf", in.tar)
		}, 1},
		{"layers.Apply tar.gz", ours(in.gz), 1},
		{"tar -xzf", func(ctx context.Context, dst string) error {
			return tarX(ctx, dst, "-xzf", in.gz)
		}, 1},
		{"layers.Apply tar.zst", ours(in.zst), 1},
		{"umoci unpack (tar.gz)", func(ctx context.Context, dst string) error {
			return command(ctx, "umoci", "unpack", "--image", in.layout+":bench", dst)
		}, 1},
	}
}

func tarX(ctx context.Context, dst, mode, src string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	return command(ctx, "tar", "--same-owner", "-p", mode, src, "-C", dst)
}

func diffVariants(upper string) []variant {
	return []variant{
		{"layers.Diff overlay upper | cat", func(ctx context.Context, _ string) error {
			return intoCat(ctx, func(w io.Writer) error {
				_, err := layers.Diff(ctx, "", upper, w, &layers.DiffOptions{OverlayUpper: true})
				return err
			})
		}, 3},
		{"layers.Diff SkipDigest | cat", func(ctx context.Context, _ string) error {
			return intoCat(ctx, func(w io.Writer) error {
				_, err := layers.Diff(ctx, "", upper, w, &layers.DiffOptions{OverlayUpper: true, SkipDigest: true})
				return err
			})
		}, 3},
		{"tar -c | sha256sum", func(ctx context.Context, _ string) error {
			return command(ctx, "sh", "-c", "tar -C "+upper+" -cf - . | sha256sum > /dev/null")
		}, 3},
		{"tar -c | cat", func(ctx context.Context, _ string) error {
			return command(ctx, "sh", "-c", "tar -C "+upper+" -cf - . | cat > /dev/null")
		}, 3},
	}
}

// intoCat runs fn writing into a pipe drained by cat > /dev/null.
func intoCat(ctx context.Context, fn func(io.Writer) error) error {
	cmd := exec.CommandContext(ctx, "sh", "-c", "cat > /dev/null")
	w, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	ferr := fn(w)
	cerr := w.Close()
	werr := cmd.Wait()
	if ferr != nil {
		return ferr
	}
	if cerr != nil {
		return cerr
	}
	return werr
}

func command(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w: %s", name, args, err, out)
	}
	return nil
}

// printSpread prints a table of each variant's runs: count, minimum,
// median and maximum of its durations.
func printSpread(vs []variant, res map[string][]time.Duration) {
	fmt.Println("| what | runs | min | median | max |")
	fmt.Println("|---|---|---|---|---|")
	for _, v := range vs {
		ds := slices.Clone(res[v.name])
		slices.Sort(ds)
		fmt.Printf("| %s | %d | %.2f s | %.2f s | %.2f s |\n", v.name, len(ds), ds[0].Seconds(), ds[len(ds)/2].Seconds(), ds[len(ds)-1].Seconds())
	}
}

func report(in inputs, applies, diffs []variant, res map[string][]time.Duration, runs int) {
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("Layer: %d files, %.0f MB uncompressed tar, %.0f MB gzip, %.0f MB zstd. %d runs each, round-robin; %d CPUs, GOMAXPROCS %d; load average at the end: %s\n\n",
		in.files, mb(in.tarSize), mb(in.gzSize), mb(in.zstSize), runs, runtime.NumCPU(), runtime.GOMAXPROCS(0), strings.TrimSpace(string(load)))
	printSpread(append(applies, diffs...), res)
	med := func(n string) float64 {
		ds := slices.Clone(res[n])
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return ds[len(ds)/2].Seconds()
	}
	ratio := func(what, theirs, ours string) {
		if t, o := med(theirs), med(ours); t > 0 && o > 0 {
			fmt.Printf("- %s: %.2fx the speed\n", what, t/o)
		}
	}
	fmt.Println()
	ratio("Apply tar vs tar -x", "tar -x", "layers.Apply tar")
	ratio("Apply tar.gz vs tar -xzf", "tar -xzf", "layers.Apply tar.gz")
	ratio("Apply tar.gz vs umoci unpack", "umoci unpack (tar.gz)", "layers.Apply tar.gz")
	ratio("Diff (diffID computed) vs tar -c | cat", "tar -c | cat", "layers.Diff overlay upper | cat")
	ratio("Diff (diffID computed) vs tar -c | sha256sum", "tar -c | sha256sum", "layers.Diff overlay upper | cat")
	ratio("Diff SkipDigest vs tar -c | cat", "tar -c | cat", "layers.Diff SkipDigest | cat")
}

func mb(n int64) float64 { return float64(n) / 1e6 }
