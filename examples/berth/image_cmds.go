package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth"
)

// familiar returns Docker's short form of a normalised name.
func familiar(name string) string {
	if ref, err := berth.ParseReference(name); err == nil {
		return ref.Familiar()
	}
	return name
}

// tag names an image like docker tag: SOURCE is a name, ID or digest,
// TARGET a new name (moved from any image that had it).
func (c *cli) tag(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("tag")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitBerth, nil
	}
	if len(pos) != 2 {
		return 1, errors.New(`"tag" requires exactly 2 arguments: usage: berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`)
	}
	rt, err := c.runtime()
	if err != nil {
		return 1, err
	}
	if err := rt.Images().Tag(ctx, pos[0], pos[1]); err != nil {
		return 1, err
	}
	return 0, nil
}

// rmi removes images like docker rmi: a name of an image that has
// others is untagged; the last name, an ID or a digest deletes the image
// and the blobs no other image uses. An image that containers (running
// or not) were made from is kept unless -f.
func (c *cli) rmi(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("rmi")
	var force, noPrune bool
	boolAlias(fs, &force, "remove even if containers use the image, or it has several names", "f", "force")
	fs.BoolVar(&noPrune, "no-prune", false, "accepted for compatibility (berth has no untagged parents)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitBerth, nil
	}
	if len(pos) == 0 {
		return 1, errors.New(`"rmi" requires at least 1 argument: usage: berth rmi [OPTIONS] IMAGE [IMAGE...]`)
	}
	rt, err := c.runtime()
	if err != nil {
		return 1, err
	}
	var errs []error
	for _, ref := range pos {
		if err := c.removeImage(ctx, rt, ref, force); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return 1, errors.Join(errs...)
	}
	return 0, nil
}

// removeImage removes one image (or name) and prints what went.
func (c *cli) removeImage(ctx context.Context, rt *berth.Runtime, ref string, force bool) error {
	info, err := rt.Images().Inspect(ctx, ref)
	if err != nil {
		return err
	}
	untagOnly := len(info.Names) > 1 && isName(ref)
	if !untagOnly && !force {
		if id, err := containerUsing(ctx, rt, info.Image); err != nil {
			return err
		} else if id != "" {
			return fmt.Errorf("conflict: unable to remove image %s (must force): container %s is using it", ref, short(id))
		}
	}
	res, err := rt.Images().Remove(ctx, ref, &berth.ImageRemoveOptions{Force: force})
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("conflict: unable to delete %s (must be forced): the image has several names: %w", ref, err)
		}
		return err
	}
	for _, n := range res.Untagged {
		fmt.Fprintf(c.stdout, "Untagged: %s\n", familiar(n))
	}
	if res.Deleted != "" {
		fmt.Fprintf(c.stdout, "Deleted: %s\n", info.Image.ID())
	}
	return nil
}

// isName reports whether ref names an image (rather than giving its ID
// or digest).
func isName(ref string) bool {
	if strings.HasPrefix(ref, "sha256:") || strings.Contains(ref, "@") {
		return false
	}
	if len(ref) <= 64 && strings.Trim(ref, "0123456789abcdef") == "" {
		return false // an ID or ID prefix, as the store reads it
	}
	return true
}

// containerUsing returns the ID of a container made from img, "" if none.
func containerUsing(ctx context.Context, rt *berth.Runtime, img *berth.Image) (string, error) {
	states, err := rt.List(ctx)
	if err != nil {
		return "", fmt.Errorf("listing containers: %w", err)
	}
	for _, st := range states {
		if st.Image == img.Digest().String() {
			return st.ID, nil
		}
	}
	return "", nil
}

// historyRow is one line of docker history, with its --format fields.
type historyRow struct {
	Comment      string
	CreatedAt    string
	CreatedBy    string
	CreatedSince string
	ID           string
	Size         string
}

// history shows how an image was made, like docker history: newest step
// first, with the size of the layer each step added.
func (c *cli) history(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("history")
	var human, noTrunc, quiet bool
	var format string
	fs.BoolVar(&human, "H", true, "sizes and dates in human-readable form")
	fs.BoolVar(&human, "human", true, "sizes and dates in human-readable form")
	fs.BoolVar(&noTrunc, "no-trunc", false, "don't truncate output")
	boolAlias(fs, &quiet, "only show image IDs", "q", "quiet")
	fs.StringVar(&format, "format", "", "json, or a Go template per line")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitBerth, nil
	}
	if len(pos) != 1 {
		return 1, errors.New(`"history" requires exactly 1 argument: usage: berth history [OPTIONS] IMAGE`)
	}
	rt, err := c.runtime()
	if err != nil {
		return 1, err
	}
	img, err := rt.Images().Get(ctx, pos[0])
	if err != nil {
		return 1, err
	}
	rows := historyRows(img, human, noTrunc, time.Now())
	return printHistory(c.stdout, rows, quiet, format)
}

// historyRows pairs the config's history with the layers, newest first.
func historyRows(img *berth.Image, human, noTrunc bool, now time.Time) []historyRow {
	hist := img.Config().History
	descs := img.Layers()
	if len(hist) == 0 { // no history recorded: one line per layer
		for range descs {
			hist = append(hist, ocispec.History{})
		}
	}
	rows := make([]historyRow, 0, len(hist))
	layer := 0
	for _, h := range hist {
		var size int64
		if !h.EmptyLayer && layer < len(descs) {
			size, layer = descs[layer].Size, layer+1
		}
		rows = append(rows, newHistoryRow(h, size, human, noTrunc, now))
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	for i := range rows {
		rows[i].ID = "<missing>"
	}
	if len(rows) > 0 {
		rows[0].ID = img.ID().String()
		if !noTrunc {
			rows[0].ID = img.ID().Encoded()[:12]
		}
	}
	return rows
}

func newHistoryRow(h ocispec.History, size int64, human, noTrunc bool, now time.Time) historyRow {
	r := historyRow{Comment: h.Comment, CreatedBy: strings.ReplaceAll(h.CreatedBy, "\t", " "),
		Size: humanSize(size), CreatedSince: "N/A"}
	if !human {
		r.Size = fmt.Sprint(size)
	}
	if h.Created != nil && !h.Created.IsZero() {
		r.CreatedAt = h.Created.Format(time.RFC3339)
		r.CreatedSince = humanDuration(now.Sub(*h.Created)) + " ago"
	}
	if !noTrunc {
		r.CreatedBy = fit(r.CreatedBy, 45)
	}
	return r
}

func printHistory(w io.Writer, rows []historyRow, quiet bool, format string) (int, error) {
	var err error
	switch {
	case quiet:
		for _, r := range rows {
			fmt.Fprintln(w, r.ID)
		}
	case format == "json":
		err = printTemplate(w, "{{json .}}", rows)
	case format != "":
		err = printTemplate(w, format, rows)
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment)
		}
		err = tw.Flush()
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}

// save writes images to a tar archive like docker save: a docker-archive
// unless --format oci, to -o FILE or to stdout (not a terminal).
func (c *cli) save(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("save")
	var output, format string
	stringAlias(fs, &output, "", "write to this file instead of stdout", "o", "output")
	fs.StringVar(&format, "format", "docker", "archive format: docker (docker-archive) or oci (oci-archive)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitBerth, nil
	}
	if len(pos) == 0 {
		return 1, errors.New(`"save" requires at least 1 argument: usage: berth save [OPTIONS] IMAGE [IMAGE...]`)
	}
	var opts berth.ExportOptions
	switch format {
	case "docker", "docker-archive":
		opts.Format = berth.DockerArchive
	case "oci", "oci-archive":
		opts.Format = berth.OCIArchive
	default:
		return 1, fmt.Errorf("--format %q: want docker or oci", format)
	}
	rt, err := c.runtime()
	if err != nil {
		return 1, err
	}
	export := func(w io.Writer) error { return rt.Images().Export(ctx, w, pos, &opts) }
	if err := c.writeOutput(output, export); err != nil {
		return 1, err
	}
	return 0, nil
}

// writeOutput runs write on the file output, created whole or not at
// all (through a temporary file renamed into place), or on stdout when
// output is "", which must then not be a terminal.
func (c *cli) writeOutput(output string, write func(io.Writer) error) (retErr error) {
	if output == "" {
		if f, ok := c.stdout.(*os.File); ok && isTerminal(f) {
			return errors.New("cowardly refusing to write an archive to a terminal: use the -o flag or redirect")
		}
		return write(c.stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), ".berth-"+filepath.Base(output)+"-*")
	if err != nil {
		return fmt.Errorf("creating %s: %w", output, err)
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, tmp.Close(), os.Remove(tmp.Name()))
		}
	}()
	if err := write(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", output, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", output, err)
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("writing %s: %w", output, err)
	}
	return nil
}

// load adds the images of an archive (docker-archive or oci-archive,
// plain or compressed; or an OCI layout directory) to the store, like
// docker load, from -i FILE or stdin.
func (c *cli) load(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("load")
	var input string
	var quiet bool
	stringAlias(fs, &input, "", "read from this file (or OCI layout directory) instead of stdin", "i", "input")
	boolAlias(fs, &quiet, "print nothing", "q", "quiet")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitBerth, nil
	}
	if len(pos) != 0 {
		return 1, errors.New(`"load" accepts no arguments: usage: berth load [-i FILE]`)
	}
	rt, err := c.runtime()
	if err != nil {
		return 1, err
	}
	info, err := c.loadFrom(ctx, rt.Images(), input)
	if err != nil {
		return 1, err
	}
	for _, i := range info {
		if quiet {
			continue
		}
		for _, n := range i.Names {
			fmt.Fprintf(c.stdout, "Loaded image: %s\n", familiar(n))
		}
		if len(i.Names) == 0 {
			fmt.Fprintf(c.stdout, "Loaded image ID: %s\n", i.Image.ID())
		}
	}
	return 0, nil
}

func (c *cli) loadFrom(ctx context.Context, s *berth.ImageStore, input string) ([]berth.ImageInfo, error) {
	if input == "" {
		if f, ok := c.stdin.(*os.File); ok && isTerminal(f) {
			return nil, errors.New("requested load from stdin, but stdin is a terminal: use -i or redirect")
		}
		return s.Import(ctx, c.stdin, nil)
	}
	if st, err := os.Stat(input); err != nil {
		return nil, err
	} else if st.IsDir() {
		return s.ImportLayout(ctx, input, nil)
	}
	f, err := os.Open(input)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return s.Import(ctx, f, nil)
}
