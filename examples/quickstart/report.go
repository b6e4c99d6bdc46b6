package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth"
)

// report writes the tour's output: a numbered line per step, indented
// details, timings. It is safe for concurrent use (the app's output
// arrives from another goroutine).
type report struct {
	mu    sync.Mutex
	w     io.Writer
	steps map[int]string // build step ID -> its title, while it runs
}

// totalSteps is the number of numbered steps of the tour.
const totalSteps = 5

func (r *report) line(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, format+"\n", args...)
}

// step starts numbered step n.
func (r *report) step(n int, format string, args ...any) {
	r.line("[%d/%d] "+format, append([]any{n, totalSteps}, args...)...)
}

// detail writes an indented line under the current step.
func (r *report) detail(format string, args ...any) {
	r.line("      "+format, args...)
}

// buildEvent renders the build's progress compactly: one line per step
// when it ends, with its time, and the RUN's output lines.
func (r *report) buildEvent(ev berth.BuildEvent) {
	r.mu.Lock()
	if r.steps == nil {
		r.steps = map[int]string{}
	}
	title := r.steps[ev.ID]
	r.mu.Unlock()
	switch ev.Kind {
	case berth.StepStarted:
		r.mu.Lock()
		title := fmt.Sprintf("[%d/%d] %s", ev.Step, ev.StageSteps, ev.Instruction)
		if r := []rune(title); len(r) > 50 {
			title = string(r[:49]) + "…"
		}
		r.steps[ev.ID] = title
		r.mu.Unlock()
	case berth.StepOutput:
		r.detail("  | %s", ev.Line)
	case berth.StepCached:
		r.detail("%-50s cached", title)
	case berth.StepDone:
		r.detail("%-50s %s", title, round(ev.Duration))
	case berth.StepFailed:
		r.detail("%-50s FAILED", title)
	}
}

// lineWriter turns written bytes into report details, one per line.
type lineWriter struct {
	r      *report
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := strings.IndexByte(string(l.buf), '\n')
		if i < 0 {
			return len(p), nil
		}
		l.r.detail("%s%s", l.prefix, l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

// round shortens a duration for display: 1.234s, 45ms, 312µs.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func since(t time.Time) time.Duration { return round(time.Since(t)) }

// mib formats bytes in MiB.
func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
