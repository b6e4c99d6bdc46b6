package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/berthlabs/berth"
)

// progress renders a build's events: a plain log, a live terminal
// display, or nothing.
type progress interface {
	// event receives each BuildEvent, in order.
	event(ev berth.BuildEvent)
	// finish reports the written image and its names.
	finish(img *berth.Image, tags []string, total time.Duration)
	// fail reports that the build failed with err.
	fail(err error)
}

// newProgress returns the display for mode ("auto", "plain", "tty" or
// "quiet"), writing to w. auto is tty when w is a terminal.
func newProgress(w io.Writer, mode string) (progress, error) {
	switch mode {
	case "auto", "":
		if f, ok := w.(*os.File); ok && isTerminal(f) && os.Getenv("TERM") != "dumb" {
			return newTTYProgress(f, time.Now, func() (int, int) { return termSize(f) }), nil
		}
		return newPlainProgress(w), nil
	case "plain":
		return newPlainProgress(w), nil
	case "tty":
		f, ok := w.(*os.File)
		if !ok || !isTerminal(f) {
			return nil, fmt.Errorf("--progress tty: the output is not a terminal")
		}
		return newTTYProgress(f, time.Now, func() (int, int) { return termSize(f) }), nil
	case "quiet":
		return quietProgress{}, nil
	}
	return nil, fmt.Errorf("--progress %q: want auto, plain, tty or quiet", mode)
}

// quietProgress shows nothing (docker build -q).
type quietProgress struct{}

func (quietProgress) event(berth.BuildEvent)                       {}
func (quietProgress) finish(*berth.Image, []string, time.Duration) {}
func (quietProgress) fail(error)                                   {}

// plainProgress is docker build --progress=plain: the library's build
// log, then an "exporting to image" step with the image ID and names.
type plainProgress struct {
	w       io.Writer
	log     func(berth.BuildEvent)
	mu      sync.Mutex
	lastID  int
	lastEnd time.Time
	commit  time.Duration
}

func newPlainProgress(w io.Writer) *plainProgress {
	return &plainProgress{w: w, log: berth.NewBuildLog(w)}
}

func (p *plainProgress) event(ev berth.BuildEvent) {
	p.mu.Lock()
	p.lastID = max(p.lastID, ev.ID)
	switch ev.Kind {
	case berth.StepCached, berth.StepDone, berth.StepFailed:
		p.lastEnd = time.Now()
	case berth.BuildDone:
		if !p.lastEnd.IsZero() {
			p.commit = time.Since(p.lastEnd)
		}
		p.mu.Unlock()
		return // finish prints Docker's export step instead
	}
	p.mu.Unlock()
	p.log(ev)
}

func (p *plainProgress) finish(img *berth.Image, tags []string, total time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := p.lastID + 1
	fmt.Fprintf(p.w, "#%d exporting to image\n", id)
	fmt.Fprintf(p.w, "#%d writing image %s done\n", id, img.ID())
	for _, t := range tags {
		fmt.Fprintf(p.w, "#%d naming to %s done\n", id, normalName(t))
	}
	fmt.Fprintf(p.w, "#%d DONE %.1fs\n", id, p.commit.Seconds())
}

func (p *plainProgress) fail(error) {}

// normalName is the normalised form of a tag, or the tag as given if it
// does not parse.
func normalName(tag string) string {
	if ref, err := berth.ParseReference(tag); err == nil {
		return ref.String()
	}
	return tag
}
