package main

import (
	"context"
	"errors"
	"os"

	"github.com/berthlabs/berth"
)

func (c *cli) exec(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("exec")
	var tty, interactive bool
	var user, workdir string
	var env multi
	boolAlias(fs, &tty, "allocate a pseudo-terminal", "t", "tty")
	boolAlias(fs, &interactive, "keep stdin open", "i", "interactive")
	stringAlias(fs, &user, "", "user[:group]", "u", "user")
	stringAlias(fs, &workdir, "", "working directory", "w", "workdir")
	multiAlias(fs, &env, "set an environment variable K=V", "e", "env")
	if err := fs.Parse(args); err != nil || fs.NArg() < 2 {
		return 125, errors.New("usage: berth exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD [ARG...]")
	}
	ctr, err := c.resolve(ctx, fs.Arg(0))
	if err != nil {
		return 125, err
	}
	p := &berth.Process{Args: fs.Args()[1:], Env: env, User: user, Dir: workdir, TTY: tty, Stdout: c.stdout, Stderr: c.stderr}
	if interactive {
		p.Stdin = c.stdin
		if f, ok := c.stdin.(*os.File); ok && tty {
			if restore, err := makeRaw(f); err == nil {
				defer restore()
			}
		}
	}
	if err := ctr.Exec(ctx, p); err != nil {
		return 0, err
	}
	return p.Wait(ctx)
}
