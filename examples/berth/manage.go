package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth"
)

// resolve finds a container by its full ID or a unique prefix of it.
func (c *cli) resolve(ctx context.Context, ref string) (*berth.Container, error) {
	if ctr, err := berth.Load(ctx, c.stateDir, ref); err == nil {
		return ctr, nil
	}
	states, err := berth.List(ctx, c.stateDir)
	if err != nil {
		return nil, err
	}
	var match []string
	for _, st := range states {
		if strings.HasPrefix(st.ID, ref) {
			match = append(match, st.ID)
		}
	}
	switch len(match) {
	case 0:
		return nil, fmt.Errorf("no such container: %s: %w", ref, fs.ErrNotExist)
	case 1:
		return berth.Load(ctx, c.stateDir, match[0])
	}
	return nil, fmt.Errorf("container reference %q is ambiguous: %d matches", ref, len(match))
}

func (c *cli) ps(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("ps")
	var all, quiet bool
	boolAlias(fs, &all, "show all containers, not only running ones", "a", "all")
	boolAlias(fs, &quiet, "only print IDs", "q", "quiet")
	if err := fs.Parse(args); err != nil {
		return 125, nil
	}
	states, err := berth.List(ctx, c.stateDir)
	if err != nil {
		return 125, err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 3, ' ', 0)
	if !quiet {
		fmt.Fprintln(tw, "CONTAINER ID\tCOMMAND\tCREATED\tSTATUS\tPID")
	}
	for _, st := range states {
		if !all && st.Status != berth.StatusRunning && st.Status != berth.StatusPaused {
			continue
		}
		if quiet {
			fmt.Fprintln(tw, short(st.ID))
			continue
		}
		fmt.Fprintf(tw, "%s\t%q\t%s ago\t%s\t%d\n", short(st.ID), strings.Join(st.Args, " "),
			time.Since(st.Created).Round(time.Second), status(st), st.PID)
	}
	return 0, tw.Flush()
}

func short(id string) string {
	if len(id) == 64 {
		return id[:12]
	}
	return id
}

func status(st *berth.State) string {
	switch st.Status {
	case berth.StatusRunning:
		return "Up " + time.Since(st.Started).Round(time.Second).String()
	case berth.StatusPaused:
		return "Up " + time.Since(st.Started).Round(time.Second).String() + " (Paused)"
	case berth.StatusExited:
		oom := ""
		if st.OOMKilled {
			oom = " (OOM killed)"
		}
		return fmt.Sprintf("Exited (%d)%s %s ago", st.ExitCode, oom, time.Since(st.Finished).Round(time.Second))
	}
	return string(st.Status)
}

func (c *cli) logs(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("logs")
	var follow, timestamps bool
	boolAlias(fs, &follow, "follow the log", "f", "follow")
	boolAlias(fs, &timestamps, "show timestamps", "t", "timestamps")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return 125, errors.New("usage: berth logs [-f] [-t] CONTAINER")
	}
	ctr, err := c.resolve(ctx, fs.Arg(0))
	if err != nil {
		return 125, err
	}
	err = ctr.Logs(ctx, follow, func(e berth.LogEntry) error {
		w := c.stdout
		if e.Stream == "stderr" {
			w = c.stderr
		}
		if timestamps {
			fmt.Fprint(w, e.Time.Format(time.RFC3339Nano)+" ")
		}
		_, err := fmt.Fprint(w, e.Text)
		return err
	})
	return 0, err
}

func (c *cli) stop(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("stop")
	var secs int
	fs.IntVar(&secs, "t", 10, "seconds to wait before killing")
	fs.IntVar(&secs, "time", 10, "seconds to wait before killing")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		return 125, errors.New("usage: berth stop [-t SECONDS] CONTAINER...")
	}
	return c.each(ctx, fs.Args(), func(ctr *berth.Container) error {
		_, err := ctr.Stop(ctx, time.Duration(secs)*time.Second)
		return err
	})
}

func (c *cli) kill(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("kill")
	var name string
	stringAlias(fs, &name, "KILL", "signal to send", "s", "signal")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		return 125, errors.New("usage: berth kill [-s SIGNAL] CONTAINER...")
	}
	sig, err := parseSignal(name)
	if err != nil {
		return 125, err
	}
	return c.each(ctx, fs.Args(), func(ctr *berth.Container) error { return ctr.Signal(sig) })
}

// parseSignal accepts "KILL", "SIGKILL" or "9".
func parseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	up := strings.ToUpper(s)
	if !strings.HasPrefix(up, "SIG") {
		up = "SIG" + up
	}
	if sig := unix.SignalNum(up); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q", s)
}

func (c *cli) rm(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("rm")
	var force bool
	boolAlias(fs, &force, "kill a running container first", "f", "force")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		return 125, errors.New("usage: berth rm [-f] CONTAINER...")
	}
	return c.each(ctx, fs.Args(), func(ctr *berth.Container) error {
		st, err := ctr.State(ctx)
		if err != nil {
			return err
		}
		if st.Status == berth.StatusRunning && !force {
			return fmt.Errorf("container %s is running: stop it first or use -f", short(st.ID))
		}
		return ctr.Delete(ctx)
	})
}

func (c *cli) inspect(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		return 125, errors.New("usage: berth inspect CONTAINER...")
	}
	var out []*berth.State
	code, err := c.each(ctx, args, func(ctr *berth.Container) error {
		st, err := ctr.State(ctx)
		if err == nil {
			out = append(out, st)
		}
		return err
	})
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "    ")
	if jerr := enc.Encode(out); jerr != nil {
		return 125, jerr
	}
	return code, err
}

func (c *cli) gc(ctx context.Context, args []string) (int, error) {
	rt, err := c.runtime()
	if err != nil {
		return 125, err
	}
	removed, err := rt.GC(ctx)
	for _, id := range removed {
		fmt.Fprintln(c.stdout, id)
	}
	if err != nil {
		return 125, err
	}
	return 0, nil
}

// each applies fn to every referenced container, printing the reference
// of each that succeeds, as docker does; the first error is returned.
func (c *cli) each(ctx context.Context, refs []string, fn func(*berth.Container) error) (int, error) {
	var errs []error
	for _, ref := range refs {
		ctr, err := c.resolve(ctx, ref)
		if err == nil {
			err = fn(ctr)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ref, err))
			continue
		}
		fmt.Fprintln(c.stdout, ref)
	}
	if len(errs) > 0 {
		return 1, errors.Join(errs...)
	}
	return 0, nil
}

func (c *cli) pause(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		return 125, errors.New("usage: berth pause CONTAINER...")
	}
	return c.each(ctx, args, func(ctr *berth.Container) error { return ctr.Pause(ctx) })
}

func (c *cli) unpause(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 {
		return 125, errors.New("usage: berth unpause CONTAINER...")
	}
	return c.each(ctx, args, func(ctr *berth.Container) error { return ctr.Resume(ctx) })
}
