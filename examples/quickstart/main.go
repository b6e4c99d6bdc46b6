// Command quickstart is Berth's tour in one program, the whole job of a
// container engine without one: it compiles a small Go web app (static,
// CGO_ENABLED=0, from the source embedded here), builds it into an image
// from an embedded Dockerfile (FROM scratch, COPY, ENV, EXPOSE, a RUN that
// self-tests the binary, CMD) with berth.Build, runs it with a memory
// limit on a bridge network with a port published on 127.0.0.1, fetches
// its page over that port, prints its resource use, and removes
// everything it made: the container, its snapshot and IP lease, the
// bridge if it created it, and its temporary root.
//
//	sudo go run ./examples/quickstart [--root DIR] [--bridge NAME] [--memory MiB] [--port N]
//
// It needs root and Go (to compile the app), nothing else: no daemon, no
// runtime binary, no network access. It never touches the host's
// interfaces, addresses, routes or firewall: the bridge is its own
// (berthqs0 unless --bridge), on a /24 that no route or address of the
// host uses, and the port is published by a proxy in this process, not by
// firewall rules. Without --root the images, snapshots and leases live in
// a temporary directory removed at the end; with --root they are kept
// there (the image stays, for a faster second run), the container and
// its lease are still removed.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/berthlabs/berth"
)

//go:embed app/main.go
var appSource []byte

//go:embed app.Dockerfile
var dockerfile []byte

// options are the command line.
type options struct {
	root   string
	bridge string
	memory int64
	port   uint
}

func main() {
	if handled, err := berth.Dispatch(context.Background()); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	var o options
	flag.StringVar(&o.root, "root", "", "keep images and snapshots in DIR (default: a temporary directory, removed at the end)")
	flag.StringVar(&o.bridge, "bridge", "berthqs0", "bridge to run the container on (created and removed if it does not exist)")
	flag.Int64Var(&o.memory, "memory", 64, "memory limit of the container, in MiB")
	flag.UintVar(&o.port, "port", 0, "host port on 127.0.0.1 (0: any free port)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run does the tour, writing its report to out. Everything it creates is
// removed before it returns, also when a step fails or ctx is cancelled.
func run(ctx context.Context, out io.Writer, o options) (retErr error) {
	if os.Geteuid() != 0 {
		return errors.New("needs root (namespaces, cgroups, overlay mounts, a bridge): sudo go run ./examples/quickstart")
	}
	if o.memory <= 0 || o.port > 65535 {
		return errors.New("--memory must be positive and --port at most 65535")
	}
	start := time.Now()
	r := &report{w: out}
	r.line("berth quickstart: compile a Go web app, build its image, run it, fetch a page, clean up")
	env, err := setUp(ctx, r, o)
	if err != nil {
		return err
	}
	defer func() {
		// Cleanup runs even when ctx was cancelled (Ctrl-C).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		retErr = errors.Join(retErr, env.cleanUp(cctx, r))
		if retErr == nil {
			r.line("done in %s", since(start))
		}
	}()
	return env.tour(ctx, r, o)
}

// tour runs the five steps in env.
func (e *env) tour(ctx context.Context, r *report, o options) error {
	bin, err := e.compile(ctx, r)
	if err != nil {
		return err
	}
	img, err := e.buildImage(ctx, r, bin)
	if err != nil {
		return err
	}
	addr, err := e.runContainer(ctx, r, img, o)
	if err != nil {
		return err
	}
	if err := fetch(ctx, r, addr); err != nil {
		return err
	}
	return e.printStats(ctx, r)
}
