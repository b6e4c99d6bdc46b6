package berth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/berthlabs/berth/dockerfile"
)

// builder is one run of [Build].
type builder struct {
	opts       *BuildOptions
	contextDir string
	fileName   string
	file       *dockerfile.File
	plan       *dockerfile.Plan
	ignore     *dockerfile.IgnoreMatcher
	epoch      time.Time
	cacheDir   string
	progress   progressSink
	stages     map[int]*stageState
	w          *ImageWriter
	hashes     *fileHashes
	// seq numbers the steps of the whole build, for progress.
	seq int
}

// build runs the planned stages and writes the target's image.
func (b *builder) build(ctx context.Context) (_ *Image, retErr error) {
	start := time.Now()
	plan, err := b.file.Plan(&dockerfile.BuildOptions{Target: b.opts.Target, Args: b.opts.Args})
	if err != nil {
		return nil, b.parseError(err)
	}
	b.plan = plan
	if err := os.MkdirAll(b.cacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("building: creating cache directory: %w", err)
	}
	if b.w, err = b.opts.Store.NewWriter(ctx); err != nil {
		return nil, fmt.Errorf("building: %w", err)
	}
	defer func() { retErr = errors.Join(retErr, b.w.Close()) }()
	for _, st := range plan.Order {
		if err := b.buildStage(ctx, st); err != nil {
			return nil, err
		}
	}
	img, err := b.commitImage(ctx, b.stages[plan.Target.Index])
	if err != nil {
		return nil, fmt.Errorf("building: %w", err)
	}
	b.progress.emit(BuildEvent{Kind: BuildDone, Image: img.Digest(), Duration: time.Since(start)})
	return img, nil
}

// buildStage builds one stage: FROM, the base's ONBUILD triggers, then
// the stage's instructions.
func (b *builder) buildStage(ctx context.Context, st *dockerfile.Stage) error {
	s, err := b.from(ctx, st)
	if err != nil {
		return err
	}
	triggers := s.config.Config.OnBuild
	s.config.Config.OnBuild = nil
	for _, t := range triggers {
		ins, err := parseTrigger(t)
		if err != nil {
			return b.stepError(st.From, "ONBUILD "+t, err)
		}
		if err := b.execute(ctx, s, ins, st.From); err != nil {
			return err
		}
	}
	for _, ins := range st.Instructions {
		if err := b.execute(ctx, s, ins, ins); err != nil {
			return err
		}
	}
	b.stages[st.Index] = s
	return nil
}

// parseTrigger types an ONBUILD trigger of a base image.
func parseTrigger(text string) (dockerfile.Instruction, error) {
	f, err := dockerfile.ParseString("FROM scratch\n" + text + "\n")
	if err != nil {
		return nil, fmt.Errorf("parsing ONBUILD trigger %q: %w", text, err)
	}
	if len(f.Stages) != 1 || len(f.Stages[0].Instructions) != 1 {
		return nil, fmt.Errorf("parsing ONBUILD trigger %q: not one instruction", text)
	}
	return f.Stages[0].Instructions[0], nil
}

// execute expands and runs one instruction, reporting progress. at is
// the instruction that errors are placed at (the FROM for triggers).
func (b *builder) execute(ctx context.Context, s *stageState, ins, at dockerfile.Instruction) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	display := displayText(ins)
	exp, err := s.scope.Apply(ins)
	if err != nil {
		if at != ins {
			return b.stepError(at, display, err)
		}
		return b.stepError(at, "", err)
	}
	ev := b.stepStarted(s, display)
	start := time.Now()
	cached, err := b.dispatch(ctx, s, exp, ev)
	ev.Duration = time.Since(start)
	if err != nil {
		ev.Kind, ev.Err = StepFailed, err
		b.progress.emit(ev)
		return b.stepError(at, display, err)
	}
	ev.Kind = StepDone
	if cached {
		ev.Kind = StepCached
	}
	b.progress.emit(ev)
	return nil
}

// stepStarted numbers a step and emits its start.
func (b *builder) stepStarted(s *stageState, display string) BuildEvent {
	b.seq++
	s.step++
	ev := BuildEvent{Kind: StepStarted, ID: b.seq, Stage: s.name(), Step: s.step,
		StageSteps: len(s.st.Instructions) + 1, Instruction: display}
	b.progress.emit(ev)
	return ev
}

// displayText is an instruction as shown in progress and errors: its
// logical line, blanks collapsed.
func displayText(ins dockerfile.Instruction) string {
	n := ins.Node()
	line := n.Line
	if line == "" {
		line = n.Source
	}
	return strings.Join(strings.Fields(line), " ")
}

// dispatch runs one expanded instruction; cached reports a cache hit.
func (b *builder) dispatch(ctx context.Context, s *stageState, ins dockerfile.Instruction, ev BuildEvent) (cached bool, err error) {
	switch c := ins.(type) {
	case *dockerfile.Run:
		return b.run(ctx, s, c, ev)
	case *dockerfile.Copy:
		return b.copyStep(ctx, s, &c.FileCopy, c.From, false, c.Parents)
	case *dockerfile.Add:
		return b.addStep(ctx, s, c)
	default:
		return false, b.meta(s, ins)
	}
}
