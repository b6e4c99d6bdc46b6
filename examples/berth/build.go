package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/berthlabs/berth"
)

// buildOptions are docker build's flags that berth supports.
type buildOptions struct {
	tags, buildArgs, labels multi
	file, target, progress  string
	iidFile                 string
	noCache, quiet          bool
}

// build builds an image from a Dockerfile like docker build: the progress
// goes to stderr (a live display on a terminal, a plain log otherwise),
// the image is stored under its -t names, and -q prints only its ID.
func (c *cli) build(ctx context.Context, args []string) (int, error) {
	var o buildOptions
	fs := c.newFlags("build")
	multiAlias(fs, &o.tags, "name the image NAME[:TAG] (repeatable)", "t", "tag")
	stringAlias(fs, &o.file, "", "the Dockerfile (default: CONTEXT/Dockerfile; - reads stdin)", "f", "file")
	fs.Var(&o.buildArgs, "build-arg", "set a build argument K=V (K alone takes $K)")
	fs.Var(&o.labels, "label", "set an image label K=V")
	fs.StringVar(&o.target, "target", "", "build this stage")
	fs.BoolVar(&o.noCache, "no-cache", false, "build every step again")
	fs.StringVar(&o.progress, "progress", "auto", "progress output: auto, plain, tty or quiet")
	boolAlias(fs, &o.quiet, "print only the image ID", "q", "quiet")
	fs.StringVar(&o.iidFile, "iidfile", "", "write the image ID to this file")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitBerth, nil
	}
	if len(pos) != 1 {
		return 1, errors.New(`"build" requires exactly 1 argument: usage: berth build [OPTIONS] CONTEXT`)
	}
	opts, err := o.buildOptions(c.stdin)
	if err != nil {
		return 1, err
	}
	rt, err := c.runtime()
	if err != nil {
		return 1, err
	}
	opts.Store, opts.Snapshotter, opts.StateDir = rt.Images(), rt.Snapshotter(), rt.StateDir()
	return c.runBuild(ctx, pos[0], opts, &o)
}

// runBuild runs the build with the chosen progress display and reports
// the result.
func (c *cli) runBuild(ctx context.Context, contextDir string, opts *berth.BuildOptions, o *buildOptions) (int, error) {
	mode := o.progress
	if o.quiet {
		mode = "quiet"
	}
	p, err := newProgress(c.stderr, mode)
	if err != nil {
		return 1, err
	}
	opts.Progress = p.event
	start := time.Now()
	img, err := berth.Build(ctx, contextDir, opts)
	if err != nil {
		p.fail(err)
		printDockerfileContext(c.stderr, contextDir, opts, err)
		return 1, err
	}
	p.finish(img, opts.Tags, time.Since(start))
	if o.quiet {
		fmt.Fprintln(c.stdout, img.ID())
	}
	if o.iidFile != "" {
		if err := os.WriteFile(o.iidFile, []byte(img.ID().String()), 0o644); err != nil {
			return 1, fmt.Errorf("writing image ID file: %w", err)
		}
	}
	return 0, nil
}

// buildOptions turns the flags into BuildOptions, without the store.
func (o *buildOptions) buildOptions(stdin io.Reader) (*berth.BuildOptions, error) {
	opts := &berth.BuildOptions{Target: o.target, NoCache: o.noCache, Tags: o.tags}
	for _, t := range o.tags {
		if _, err := berth.ParseReference(t); err != nil {
			return nil, fmt.Errorf("invalid tag %q: %w", t, err)
		}
	}
	if o.file == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading the Dockerfile from stdin: %w", err)
		}
		opts.DockerfileContent = data
	} else if o.file != "" {
		abs, err := filepath.Abs(o.file)
		if err != nil {
			return nil, err
		}
		opts.Dockerfile = abs
	}
	var err error
	if opts.Args, err = keyValues(o.buildArgs, true); err != nil {
		return nil, fmt.Errorf("--build-arg: %w", err)
	}
	if opts.Labels, err = keyValues(o.labels, false); err != nil {
		return nil, fmt.Errorf("--label: %w", err)
	}
	// docker buildx passes SOURCE_DATE_EPOCH from the environment on.
	if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok && opts.Args["SOURCE_DATE_EPOCH"] == "" {
		if opts.Args == nil {
			opts.Args = map[string]string{}
		}
		opts.Args["SOURCE_DATE_EPOCH"] = v
	}
	return opts, nil
}

// keyValues parses K=V pairs; with fromEnv, a bare K takes its value from
// the environment and is left out if the environment lacks it, as docker
// build --build-arg does.
func keyValues(kvs []string, fromEnv bool) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("%q: empty name", kv)
		}
		if !ok {
			if !fromEnv {
				m[k] = ""
				continue
			}
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		m[k] = v
	}
	return m, nil
}

// printDockerfileContext shows the lines around a build error's line, as
// docker build does.
func printDockerfileContext(w io.Writer, contextDir string, opts *berth.BuildOptions, err error) {
	var be *berth.BuildError
	if !errors.As(err, &be) || be.Line == 0 {
		return
	}
	data := opts.DockerfileContent
	if data == nil {
		path := opts.Dockerfile
		if path == "" {
			path = filepath.Join(contextDir, "Dockerfile")
		}
		var rerr error
		if data, rerr = os.ReadFile(path); rerr != nil {
			return
		}
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	fmt.Fprintf(w, "%s:%d\n--------------------\n", be.File, be.Line)
	for i := max(be.Line-3, 1); i <= min(be.Line+2, len(lines)); i++ {
		mark := "    "
		if i == be.Line {
			mark = ">>> "
		}
		fmt.Fprintf(w, "%4d | %s%s\n", i, mark, lines[i-1])
	}
	fmt.Fprintln(w, "--------------------")
}

// parseInterspersed parses flags that may come after positional
// arguments ("build . -t app"), as Docker's CLI allows, and returns the
// positional ones. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if args = fs.Args(); len(args) == 0 {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}
