package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/berthlabs/berth"
)

// ttyRefresh is how often the live display redraws.
const ttyRefresh = 100 * time.Millisecond

// ttyLogLines is how many output lines of a running step are shown.
const ttyLogLines = 6

// stepState is where a step of the live display is.
type stepState int

const (
	stepRunning stepState = iota
	stepDone
	stepCached
	stepFailed
)

// ttyStep is one line (plus sub-lines) of the live display.
type ttyStep struct {
	title string
	start time.Time
	dur   time.Duration
	state stepState
	logs  []string // the last ttyLogLines output lines
	sub   []string // detail lines ("writing image ...")
}

// ttyProgress is docker build's live display on a terminal: a header with
// the elapsed time and the steps done, then one line per step with its
// time, redrawn in place every ttyRefresh, the running steps followed by
// their last output lines.
type ttyProgress struct {
	w     io.Writer
	now   func() time.Time
	size  func() (width, height int)
	color bool

	mu      sync.Mutex
	start   time.Time
	steps   []*ttyStep
	byID    map[int]*ttyStep
	lastEnd time.Time
	commit  time.Duration
	status  string // "" while running, then "FINISHED" or "ERROR"
	drawn   int    // lines of the last frame, to move back over

	stop    chan struct{}
	stopped chan struct{}
}

// newTTYProgress starts a live display on w; finish or fail ends it.
// now and size are the clock and the terminal's size (fakes in tests).
func newTTYProgress(w io.Writer, now func() time.Time, size func() (int, int)) *ttyProgress {
	p := newTTYState(w, now, size)
	p.color = os.Getenv("NO_COLOR") == ""
	go p.loop()
	return p
}

// newTTYState is the display without its redraw loop.
func newTTYState(w io.Writer, now func() time.Time, size func() (int, int)) *ttyProgress {
	return &ttyProgress{w: w, now: now, size: size, start: now(), byID: map[int]*ttyStep{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
}

func (p *ttyProgress) loop() {
	defer close(p.stopped)
	t := time.NewTicker(ttyRefresh)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

func (p *ttyProgress) event(ev berth.BuildEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	s := p.byID[ev.ID]
	if s == nil && ev.Kind != berth.BuildDone {
		s = &ttyStep{title: fmt.Sprintf("[%s %d/%d] %s", ev.Stage, ev.Step, ev.StageSteps, ev.Instruction), start: now}
		p.byID[ev.ID] = s
		p.steps = append(p.steps, s)
	}
	switch ev.Kind {
	case berth.StepOutput:
		s.logs = append(s.logs, ev.Line)
		if len(s.logs) > ttyLogLines {
			s.logs = s.logs[len(s.logs)-ttyLogLines:]
		}
	case berth.StepCached:
		s.state, s.dur, p.lastEnd = stepCached, 0, now
	case berth.StepDone:
		s.state, s.dur, p.lastEnd = stepDone, ev.Duration, now
	case berth.StepFailed:
		s.state, s.dur, p.lastEnd = stepFailed, ev.Duration, now
	case berth.BuildDone:
		if !p.lastEnd.IsZero() {
			p.commit = now.Sub(p.lastEnd)
		}
	}
}

func (p *ttyProgress) finish(img *berth.Image, tags []string, total time.Duration) {
	p.end(func() {
		s := &ttyStep{title: "exporting to image", state: stepDone, dur: p.commit,
			sub: []string{"writing image " + img.ID().String() + " done"}}
		for _, t := range tags {
			s.sub = append(s.sub, "naming to "+normalName(t)+" done")
		}
		p.steps = append(p.steps, s)
		p.status = "FINISHED"
	})
}

func (p *ttyProgress) fail(error) {
	p.end(func() { p.status = "ERROR" })
}

// end stops the redraw loop, applies fn and draws the final frame.
func (p *ttyProgress) end(fn func()) {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	<-p.stopped
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
	p.draw()
}

// draw replaces the previous frame with the current one.
func (p *ttyProgress) draw() {
	width, height := p.size()
	lines := p.frame(p.now(), width, height)
	var b strings.Builder
	if p.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\r", p.drawn)
	}
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\x1b[K\n")
	}
	b.WriteString("\x1b[J")
	p.drawn = len(lines)
	_, _ = io.WriteString(p.w, b.String())
}

// frame returns the lines of the display at now, fitted to the terminal:
// no line wider than width, and no more lines than height-1 (the oldest
// steps go first), so that the cursor can always move back to the top.
func (p *ttyProgress) frame(now time.Time, width, height int) []string {
	if width <= 0 {
		width = 80
	}
	done := 0
	for _, s := range p.steps {
		if s.state != stepRunning {
			done++
		}
	}
	header := fmt.Sprintf("[+] Building %.1fs (%d/%d)", now.Sub(p.start).Seconds(), done, len(p.steps))
	if p.status != "" {
		header += " " + p.status
	}
	var body []string
	for _, s := range p.steps {
		body = append(body, p.stepLines(s, now, width)...)
	}
	if height > 2 && len(body) > height-2 {
		body = body[len(body)-(height-2):]
	}
	return append([]string{fit(header, width)}, body...)
}

// stepLines renders one step: its line with the time at the right, its
// detail lines, and the last output lines while it runs or if it failed.
func (p *ttyProgress) stepLines(s *ttyStep, now time.Time, width int) []string {
	d := s.dur
	prefix := " => "
	switch s.state {
	case stepRunning:
		d = now.Sub(s.start)
	case stepCached:
		prefix += "CACHED "
	case stepFailed:
		prefix += "ERROR "
	}
	timing := fmt.Sprintf("%.1fs", d.Seconds())
	text := fit(prefix+s.title, width-len(timing)-1)
	line := text + strings.Repeat(" ", max(width-len(timing)-utf8.RuneCountInString(text), 1)) + timing
	out := []string{p.paint(s.state, line)}
	for _, sub := range s.sub {
		out = append(out, p.paint(s.state, fit(" => => "+sub, width)))
	}
	if s.state == stepRunning || s.state == stepFailed {
		for _, l := range s.logs {
			out = append(out, p.paint(s.state, fit(" => => # "+l, width)))
		}
	}
	return out
}

// paint colours a line as BuildKit does: finished steps blue, failed
// ones red, running ones in the terminal's colour.
func (p *ttyProgress) paint(st stepState, line string) string {
	if !p.color {
		return line
	}
	switch st {
	case stepDone, stepCached:
		return "\x1b[34m" + line + "\x1b[0m"
	case stepFailed:
		return "\x1b[31m" + line + "\x1b[0m"
	}
	return line
}

// fit cuts s to at most width runes, tabs and control characters made
// spaces so that a line never wraps or moves the cursor.
func fit(s string, width int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if width < 1 {
		return ""
	}
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}
