package berth

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// BuildEventKind says what a [BuildEvent] reports.
type BuildEventKind int

const (
	// StepStarted: a step (one instruction) begins.
	StepStarted BuildEventKind = iota + 1
	// StepOutput: a line a RUN command printed (Line, Stream).
	StepOutput
	// StepCached: a step was found in the cache and not run.
	StepCached
	// StepDone: a step finished (Duration).
	StepDone
	// StepFailed: a step failed (Err).
	StepFailed
	// BuildDone: the image is written (Image, Duration of the build).
	BuildDone
)

// String returns the kind's name, such as "started" or "cached".
func (k BuildEventKind) String() string {
	switch k {
	case StepStarted:
		return "started"
	case StepOutput:
		return "output"
	case StepCached:
		return "cached"
	case StepDone:
		return "done"
	case StepFailed:
		return "failed"
	case BuildDone:
		return "build-done"
	}
	return fmt.Sprintf("BuildEventKind(%d)", int(k))
}

// BuildEvent is one entry of a build's progress stream, what
// [BuildOptions].Progress receives. Every step sends StepStarted, then
// any StepOutput lines, then one of StepCached, StepDone or StepFailed,
// all with the same ID; a successful build ends with BuildDone.
type BuildEvent struct {
	Kind BuildEventKind
	// ID numbers the steps of the build from 1, across stages.
	ID int
	// Stage is the stage's name, or "stage-N" for an unnamed one.
	Stage string
	// Step is the step's position in its stage, from 1 (the FROM), and
	// StageSteps the stage's number of steps.
	Step, StageSteps int
	// Instruction is the instruction as written, on one line.
	Instruction string
	// Line is one line of RUN output, without its newline (StepOutput).
	Line string
	// Stream is "stdout" or "stderr" (StepOutput).
	Stream string
	// Duration is the step's time (StepDone, StepCached, StepFailed), or
	// the whole build's (BuildDone).
	Duration time.Duration
	// Err is why the step failed (StepFailed).
	Err error
	// Image is the built image's manifest digest (BuildDone).
	Image digest.Digest
}

// progressSink serialises events to the caller's function.
type progressSink struct {
	mu sync.Mutex
	fn func(BuildEvent)
}

func (p *progressSink) emit(ev BuildEvent) {
	if p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fn(ev)
}

// NewBuildLog returns a progress function that writes the events to w as
// a plain log, like "docker build --progress=plain":
//
//	#2 [build 2/4] COPY go.mod ./
//	#2 DONE 0.0s
//	#3 [build 3/4] RUN go build
//	#3 0.412 compiling...
//	#3 CACHED
//
// Write errors are ignored. The function is safe for concurrent use.
func NewBuildLog(w io.Writer) func(BuildEvent) {
	var mu sync.Mutex
	starts := map[int]time.Time{}
	return func(ev BuildEvent) {
		mu.Lock()
		defer mu.Unlock()
		writeBuildLog(w, ev, starts)
	}
}

func writeBuildLog(w io.Writer, ev BuildEvent, starts map[int]time.Time) {
	switch ev.Kind {
	case StepStarted:
		starts[ev.ID] = time.Now()
		fmt.Fprintf(w, "#%d [%s %d/%d] %s\n", ev.ID, ev.Stage, ev.Step, ev.StageSteps, ev.Instruction)
	case StepOutput:
		fmt.Fprintf(w, "#%d %.3f %s\n", ev.ID, time.Since(starts[ev.ID]).Seconds(), ev.Line)
	case StepCached:
		fmt.Fprintf(w, "#%d CACHED\n", ev.ID)
		delete(starts, ev.ID)
	case StepDone:
		fmt.Fprintf(w, "#%d DONE %.1fs\n", ev.ID, ev.Duration.Seconds())
		delete(starts, ev.ID)
	case StepFailed:
		fmt.Fprintf(w, "#%d ERROR: %s\n", ev.ID, strings.ReplaceAll(ev.Err.Error(), "\n", "\n#"+fmt.Sprint(ev.ID)+" "))
		delete(starts, ev.ID)
	case BuildDone:
		fmt.Fprintf(w, "writing image %s done in %.1fs\n", ev.Image, ev.Duration.Seconds())
	}
}
