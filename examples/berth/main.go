//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command berth is a Docker-like CLI over the berth SDK: it runs
// containers from images or from a root filesystem directory, in the
// foreground or detached, with resource limits, on a bridge network with
// published ports, and manages them from later invocations.
//
//	berth run [-d] [--name NAME] [-e K=V] [-w DIR] [-u USER] [--hostname H] [--read-only]
//	          [-v SRC:DST[:ro]] [-t] [-i] [--rm] [--cap-add C] [--cap-drop C]
//	          [--memory N] [--cpus N] [--cpuset-cpus LIST] [--pids-limit N] [--blkio-weight N]
//	          [--network none|host|bridge] [-p [IP:]HOST:CTR[/PROTO]] [--add-host NAME:IP] [--dns IP]
//	          (IMAGE [CMD [ARG...]] | --rootfs DIR CMD [ARG...])
//	berth ps [-a] [-q]
//	berth stats [--no-stream] [CONTAINER...]
//	berth pause CONTAINER...
//	berth unpause CONTAINER...
//	berth import [-c CHANGE] FILE|DIR [REF]
//	berth images [-q] [-a] [--digests] [--no-trunc] [--format json|TEMPLATE] [-f dangling=BOOL] [REPOSITORY[:TAG]]
//	berth build -t NAME [-f FILE] [--build-arg K=V] [--label K=V] [--target T] [--no-cache]
//	            [--progress auto|plain|tty|quiet] [-q] [--iidfile FILE] CONTEXT
//	berth rmi [-f] IMAGE...
//	berth tag SOURCE TARGET
//	berth history [--no-trunc] [-H=false] [-q] [--format json|TEMPLATE] IMAGE
//	berth save [-o FILE] [--format docker|oci] IMAGE...
//	berth load [-i FILE|DIR] [-q]
//	berth export [-o FILE] CONTAINER
//	berth exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD [ARG...]
//	berth logs [-f] [-t] CONTAINER
//	berth stop [-t SECONDS] CONTAINER...
//	berth kill [-s SIGNAL] CONTAINER...
//	berth rm [-f] CONTAINER...
//	berth inspect CONTAINER...
//	berth gc
//
// Containers are named by --name, or by a 64-hex-digit ID of which any
// unique prefix will do. State lives in --state-dir (or $BERTH_STATE_DIR,
// default /run/berth); images, snapshots and IP leases in --root (or
// $BERTH_ROOT, default /var/lib/berth). Without --network a container has
// only loopback; --network bridge plugs it into the berth0 bridge
// (10.87.0.0/16), created on first use in this process's network
// namespace, where -p publishes its ports. A container killed for
// reaching its --memory limit makes run exit with 137 and say so. run and exec exit with the container's exit code,
// 125 when berth itself fails, 126/127 when the program cannot be run, as
// Docker does. A foreground run removes its container when it exits
// (--rm is implied: the container belongs to this process); use -d to keep
// one.
//
// It needs root.
//
// The binary leaves GOMAXPROCS at the number of CPUs instead of reading
// its cgroup's CPU limit at every start (the go:debug lines above): a
// command lasts milliseconds.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/berthlabs/berth"
)

// Exit codes for failures of berth itself, as docker's.
const (
	exitBerth      = 125
	exitCannotExec = 126
	exitNotFound   = 127
)

func main() {
	if handled, err := berth.Dispatch(context.Background()); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGPIPE)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// cli carries the global options and streams.
type cli struct {
	stateDir string
	root     string
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	rt       *berth.Runtime // opened by the first command that needs it
}

// runtime opens the Runtime on first use.
func (c *cli) runtime() (*berth.Runtime, error) {
	if c.rt != nil {
		return c.rt, nil
	}
	rt, err := berth.Open(c.root, berth.WithStateDir(c.stateDir))
	if err != nil {
		return nil, err
	}
	c.rt = rt
	return rt, nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("berth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	def := os.Getenv("BERTH_STATE_DIR")
	if def == "" {
		def = berth.DefaultStateDir
	}
	fs.StringVar(&c.stateDir, "state-dir", def, "directory of container state")
	root := os.Getenv("BERTH_ROOT")
	if root == "" {
		root = berth.DefaultRoot
	}
	fs.StringVar(&c.root, "root", root, "directory of images, snapshots and IP leases")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: berth [--state-dir DIR] [--root DIR] "+
			"run|ps|exec|logs|stop|kill|rm|inspect|gc|stats|pause|unpause|import|images|\n"+
			"             build|rmi|tag|history|save|load|export ...")
	}
	if err := fs.Parse(args); err != nil {
		return exitBerth
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitBerth
	}
	cmds := map[string]func(context.Context, []string) (int, error){
		"run": c.run, "ps": c.ps, "exec": c.exec, "logs": c.logs, "stop": c.stop,
		"kill": c.kill, "rm": c.rm, "inspect": c.inspect, "gc": c.gc,
		"stats": c.stats, "pause": c.pause, "unpause": c.unpause, "import": c.importImage, "images": c.images,
		"build": c.build, "rmi": c.rmi, "tag": c.tag, "history": c.history, "save": c.save, "load": c.load, "export": c.export,
	}
	cmd, ok := cmds[fs.Arg(0)]
	if !ok {
		fmt.Fprintf(stderr, "berth: unknown command %q\n", fs.Arg(0))
		fs.Usage()
		return exitBerth
	}
	code, err := cmd(ctx, fs.Args()[1:])
	if c.rt != nil {
		err = errors.Join(err, c.rt.Close())
	}
	if err != nil {
		fmt.Fprintf(stderr, "berth %s: %v\n", fs.Arg(0), err)
		if code == 0 {
			code = exitCode(err)
		}
	}
	return code
}

// exitCode maps a start failure to Docker's codes.
func exitCode(err error) int {
	var ie *berth.InitError
	if errors.As(err, &ie) && ie.Stage == "exec" {
		if errors.Is(err, os.ErrNotExist) {
			return exitNotFound
		}
		return exitCannotExec
	}
	return exitBerth
}

// newFlags returns a flag set for a subcommand that reports errors to c.
func (c *cli) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}
