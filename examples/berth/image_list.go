package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/berthlabs/berth"
)

// imageRow is one line of docker images: an image under one of its
// names. Its fields and their JSON are those of docker images --format.
type imageRow struct {
	Containers   string
	CreatedAt    string
	CreatedSince string
	Digest       string
	ID           string
	Repository   string
	SharedSize   string
	Size         string
	Tag          string
	UniqueSize   string
	VirtualSize  string
}

// imagesOptions are docker images' flags that berth supports.
type imagesOptions struct {
	quiet, all, digests, noTrunc bool
	format                       string
	filters                      multi
}

// images lists the store's images like docker images: a row per name
// (REPOSITORY, TAG, IMAGE ID, CREATED, SIZE), with --digests a DIGEST
// column, -q only the IDs, --format json one JSON object per row or
// --format TEMPLATE a Go template per row. An argument REPOSITORY[:TAG]
// lists only the images of that name.
func (c *cli) images(ctx context.Context, args []string) (int, error) {
	var o imagesOptions
	fs := c.newFlags("images")
	boolAlias(fs, &o.quiet, "only print image IDs", "q", "quiet")
	boolAlias(fs, &o.all, "show all images (berth has no intermediate images)", "a", "all")
	fs.BoolVar(&o.digests, "digests", false, "show digests")
	fs.BoolVar(&o.noTrunc, "no-trunc", false, "don't truncate IDs")
	fs.StringVar(&o.format, "format", "", "json, or a Go template per image")
	multiAlias(fs, &o.filters, "filter: dangling=true|false", "f", "filter")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitBerth, nil
	}
	if len(pos) > 1 {
		return 1, errors.New(`"images" requires at most 1 argument: usage: berth images [OPTIONS] [REPOSITORY[:TAG]]`)
	}
	rt, err := c.runtime()
	if err != nil {
		return 1, err
	}
	list, err := rt.Images().List(ctx)
	if err != nil {
		return 1, err
	}
	rows, err := imageRows(list, pos, &o, time.Now())
	if err != nil {
		return 1, err
	}
	if err := o.print(c.stdout, rows); err != nil {
		return 1, err
	}
	return 0, nil
}

// imageRows returns the rows for list, filtered by the REPOSITORY[:TAG]
// argument and --filter, newest image first.
func imageRows(list []berth.ImageInfo, pos []string, o *imagesOptions, now time.Time) ([]imageRow, error) {
	match, err := rowFilter(pos, o.filters)
	if err != nil {
		return nil, err
	}
	var rows []imageRow
	for _, info := range list {
		names := info.Names
		if len(names) == 0 {
			names = []string{""}
		}
		for _, n := range names {
			row := newImageRow(info.Image, n, o.noTrunc, now)
			if match(row, len(info.Names) == 0) {
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

// newImageRow describes img under the normalised name n ("" for none).
func newImageRow(img *berth.Image, n string, noTrunc bool, now time.Time) imageRow {
	id := img.ID().String()
	if !noTrunc {
		id = img.ID().Encoded()[:12]
	}
	row := imageRow{Containers: "N/A", Digest: img.Digest().String(), ID: id, Repository: "<none>", Tag: "<none>",
		SharedSize: "N/A", UniqueSize: "N/A", Size: humanSize(img.Size()), CreatedSince: "N/A"}
	row.VirtualSize = row.Size
	if t := img.Created(); !t.IsZero() {
		row.CreatedAt = t.UTC().Format("2006-01-02 15:04:05 -0700 MST")
		row.CreatedSince = humanDuration(now.Sub(t)) + " ago"
	}
	if ref, err := berth.ParseReference(n); err == nil {
		row.Repository, row.Tag = ref.FamiliarName(), ref.Tag
	}
	return row
}

// rowFilter returns the test a row must pass: the REPOSITORY[:TAG]
// argument and dangling=true|false filters.
func rowFilter(pos []string, filters []string) (func(imageRow, bool) bool, error) {
	var repo, tag string
	if len(pos) == 1 {
		repo = pos[0]
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo, tag = repo[:i], repo[i+1:]
		}
		if ref, err := berth.ParseReference(repo); err == nil {
			repo = ref.FamiliarName()
		}
	}
	dangling := -1
	for _, f := range filters {
		switch f {
		case "dangling=true":
			dangling = 1
		case "dangling=false":
			dangling = 0
		default:
			return nil, fmt.Errorf("invalid filter %q: berth supports dangling=true|false", f)
		}
	}
	return func(r imageRow, nameless bool) bool {
		if repo != "" && r.Repository != repo || tag != "" && r.Tag != tag {
			return false
		}
		return dangling < 0 || (dangling == 1) == nameless
	}, nil
}

// print writes the rows in the chosen format.
func (o *imagesOptions) print(w io.Writer, rows []imageRow) error {
	switch {
	case o.quiet:
		for _, r := range rows {
			fmt.Fprintln(w, r.ID)
		}
		return nil
	case o.format == "json" || o.format == "{{json .}}":
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	case o.format != "":
		return printTemplate(w, o.format, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	if o.digests {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
	} else {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
	}
	for _, r := range rows {
		if o.digests {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.Digest, r.ID, r.CreatedSince, r.Size)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size)
		}
	}
	return tw.Flush()
}

// printTemplate executes the Go template text once per item, each
// followed by a newline, with Docker's json function.
func printTemplate[T any](w io.Writer, text string, items []T) error {
	tmpl, err := template.New("format").Funcs(template.FuncMap{"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	}}).Parse(text)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	for _, it := range items {
		if err := tmpl.Execute(w, it); err != nil {
			return fmt.Errorf("--format: %w", err)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// humanSize formats bytes with decimal units and three significant
// digits, as docker images does ("4.26MB", "718kB", "0B").
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB", "EB"}
	v, i := float64(n), 0
	for i < len(units)-1 && v >= 999.5 {
		v, i = v/1000, i+1
	}
	return fmt.Sprintf("%.3g%s", v, units[i])
}

// humanDuration describes d in words as Docker does ("About a minute",
// "3 hours", "2 weeks", "56 years").
func humanDuration(d time.Duration) string {
	s := int(d.Seconds())
	switch {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	m := int(d.Minutes())
	switch {
	case m == 1:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	}
	h := int(d.Hours() + 0.5)
	switch {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", h/24/7)
	case h < 24*365*2:
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}
