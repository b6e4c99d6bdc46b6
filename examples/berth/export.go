package main

import (
	"context"
	"errors"
	"io"
)

// export writes a container's filesystem as a tar archive like docker
// export: the image's files with the container's changes, without the
// mounts made at start (/proc, /sys, /dev, volumes), to -o FILE or to
// stdout.
func (c *cli) export(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("export")
	var output string
	stringAlias(fs, &output, "", "write to this file instead of stdout", "o", "output")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitBerth, nil
	}
	if len(pos) != 1 {
		return 1, errors.New(`"export" requires exactly 1 argument: usage: berth export [-o FILE] CONTAINER`)
	}
	ctr, err := c.resolve(ctx, pos[0])
	if err != nil {
		return 1, err
	}
	st, err := ctr.State(ctx)
	if err != nil {
		return 1, err
	}
	if err := c.writeOutput(output, func(w io.Writer) error { return exportContainer(ctx, st, w) }); err != nil {
		return 1, err
	}
	return 0, nil
}
