package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

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

// images lists the store's images like docker images.
func (c *cli) images(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("images")
	var quiet bool
	boolAlias(fs, &quiet, "only print image IDs", "q", "quiet")
	if err := fs.Parse(args); err != nil {
		return 125, nil
	}
	rt, err := c.runtime()
	if err != nil {
		return 125, err
	}
	list, err := rt.Images().List(ctx)
	if err != nil {
		return 125, err
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 3, ' ', 0)
	if !quiet {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	}
	for _, info := range list {
		id := info.Image.ID().Encoded()[:12]
		if quiet {
			fmt.Fprintln(tw, id)
			continue
		}
		created := "N/A"
		if t := info.Image.Created(); !t.IsZero() {
			created = time.Since(t).Round(time.Second).String() + " ago"
		}
		names := info.Names
		if len(names) == 0 {
			names = []string{""}
		}
		for _, n := range names {
			repo, tag := "<none>", "<none>"
			if ref, err := berth.ParseReference(n); err == nil {
				repo, tag = ref.FamiliarName(), ref.Tag
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", repo, tag, id, created, size(uint64(info.Image.Size())))
		}
	}
	return 0, tw.Flush()
}
