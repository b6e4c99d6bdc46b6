package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/berthlabs/berth"
)

// importImage adds an image to the store: from an OCI image layout
// directory, an image archive (oci-archive or docker-archive), or a root
// filesystem tarball (docker import), and prints its ID.
func (c *cli) importImage(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("import")
	var changes multi
	var message string
	multiAlias(fs, &changes, "Dockerfile instruction to apply to a rootfs image (CMD, ENV, ...)", "c", "change")
	stringAlias(fs, &message, "", "history comment of a rootfs image", "m", "message")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
		return 125, errors.New("usage: berth import [-c CHANGE] [-m MESSAGE] FILE|DIR [REF]")
	}
	rt, err := c.runtime()
	if err != nil {
		return 125, err
	}
	var names []string
	if fs.NArg() == 2 {
		names = []string{fs.Arg(1)}
	}
	info, err := importFrom(ctx, rt.Images(), fs.Arg(0), names, &berth.RootfsOptions{Names: names, Changes: changes, Comment: message})
	if err != nil {
		return 125, err
	}
	for _, i := range info {
		fmt.Fprintln(c.stdout, i.Image.ID())
	}
	return 0, nil
}

func importFrom(ctx context.Context, s *berth.ImageStore, path string, names []string, ro *berth.RootfsOptions) ([]berth.ImageInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return s.ImportLayout(ctx, path, &berth.ImportOptions{Names: names})
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := s.Import(ctx, f, &berth.ImportOptions{Names: names})
	if !errors.Is(err, errors.ErrUnsupported) {
		return info, err
	}
	// Neither image archive format: a root filesystem tarball.
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	one, err := s.ImportRootfs(ctx, f, ro)
	if err != nil {
		return nil, err
	}
	return []berth.ImageInfo{one}, nil
}
