package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time        { return c.t }
func (c *fakeClock) add(d time.Duration)   { c.t = c.t.Add(d) }
func fixedSize(w, h int) func() (int, int) { return func() (int, int) { return w, h } }

func step(kind berth.BuildEventKind, id, n int, ins string) berth.BuildEvent {
	return berth.BuildEvent{Kind: kind, ID: id, Stage: "build", Step: n, StageSteps: 3, Instruction: ins}
}

func TestTTYFrame(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	p := newTTYState(io.Discard, clock.now, fixedSize(60, 40))
	p.event(step(berth.StepStarted, 1, 1, "FROM scratch"))
	p.event(berth.BuildEvent{Kind: berth.StepDone, ID: 1})
	p.event(step(berth.StepStarted, 2, 2, "COPY . /"))
	p.event(berth.BuildEvent{Kind: berth.StepCached, ID: 2})
	p.event(step(berth.StepStarted, 3, 3, "RUN make"))
	for i := range 8 {
		p.event(berth.BuildEvent{Kind: berth.StepOutput, ID: 3, Line: "line " + string(rune('a'+i))})
	}
	clock.add(2500 * time.Millisecond)
	want := []string{
		"[+] Building 2.5s (2/3)",
		" => [build 1/3] FROM scratch                            0.0s",
		" => CACHED [build 2/3] COPY . /                         0.0s",
		" => [build 3/3] RUN make                                2.5s",
		" => => # line c", " => => # line d", " => => # line e",
		" => => # line f", " => => # line g", " => => # line h",
	}
	assert.Equal(t, want, p.frame(clock.now(), 60, 40), "a running step shows its last six lines")

	got := p.frame(clock.now(), 60, 5)
	assert.Equal(t, append([]string{want[0]}, want[len(want)-3:]...), got, "the oldest lines go when the terminal is short")
	for _, l := range p.frame(clock.now(), 20, 40) {
		assert.LessOrEqual(t, len([]rune(l)), 20, "no line is wider than the terminal: %q", l)
	}

	p.event(berth.BuildEvent{Kind: berth.StepFailed, ID: 3, Duration: 3 * time.Second, Err: errors.New("exit 2")})
	lines := p.frame(clock.now(), 60, 40)
	assert.Equal(t, " => ERROR [build 3/3] RUN make                          3.0s", lines[3])
	assert.Len(t, lines, 10, "a failed step keeps its output on screen")
}

func TestTTYDrawsInPlace(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	var out bytes.Buffer
	p := newTTYState(&out, clock.now, fixedSize(50, 20))
	p.event(step(berth.StepStarted, 1, 1, "FROM scratch"))
	p.draw()
	first := out.String()
	assert.NotContains(t, first, "A\r", "the first frame moves nothing back")
	assert.True(t, strings.HasPrefix(first, "[+] Building 0.0s (0/1)\x1b[K\n"), first)
	out.Reset()
	p.event(berth.BuildEvent{Kind: berth.StepDone, ID: 1})
	p.event(berth.BuildEvent{Kind: berth.BuildDone})
	p.draw()
	assert.True(t, strings.HasPrefix(out.String(), "\x1b[2A\r"), "the next frame starts two lines up: %q", out.String())
	assert.True(t, strings.HasSuffix(out.String(), "\x1b[J"), "and clears what the old frame had below")
}

func TestTTYFinish(t *testing.T) {
	var out syncBuffer
	p := newTTYProgress(&out, time.Now, fixedSize(100, 30))
	p.color = false
	p.event(step(berth.StepStarted, 1, 1, "FROM scratch"))
	p.event(berth.BuildEvent{Kind: berth.StepDone, ID: 1})
	time.Sleep(3 * ttyRefresh / 2) // at least one redraw by the loop
	p.finish(fakeImage(t), []string{"app:1"}, time.Second)
	p.finish(fakeImage(t), nil, time.Second) // a second end is ignored
	s := out.String()
	assert.Contains(t, s, "FINISHED")
	assert.Contains(t, s, " => exporting to image")
	assert.Contains(t, s, " => => naming to docker.io/library/app:1 done")
	assert.GreaterOrEqual(t, strings.Count(s, "[+] Building"), 2, "the loop redrew before the end")
}

func TestPlainProgress(t *testing.T) {
	var out bytes.Buffer
	p := newPlainProgress(&out)
	p.event(step(berth.StepStarted, 1, 1, "FROM scratch"))
	p.event(berth.BuildEvent{Kind: berth.StepDone, ID: 1})
	p.event(step(berth.StepStarted, 2, 2, "RUN make"))
	p.event(berth.BuildEvent{Kind: berth.StepOutput, ID: 2, Line: "compiling"})
	p.event(berth.BuildEvent{Kind: berth.StepCached, ID: 2})
	p.event(berth.BuildEvent{Kind: berth.BuildDone, Image: "sha256:abc"})
	img := fakeImage(t)
	p.finish(img, []string{"app", "example.com/x:2"}, time.Second)
	s := out.String()
	assert.Contains(t, s, "#1 [build 1/3] FROM scratch\n#1 DONE 0.0s\n#2 [build 2/3] RUN make\n")
	assert.Contains(t, s, "#2 CACHED\n#3 exporting to image\n#3 writing image "+img.ID().String()+" done\n"+
		"#3 naming to docker.io/library/app:latest done\n#3 naming to example.com/x:2 done\n#3 DONE 0.0s\n")
	assert.NotContains(t, s, "sha256:abc", "the library's last line is replaced by Docker's export step")
}

func TestNewProgress(t *testing.T) {
	var buf bytes.Buffer
	p, err := newProgress(&buf, "auto")
	require.NoError(t, err)
	assert.IsType(t, &plainProgress{}, p, "auto on a non-terminal is plain")
	_, err = newProgress(&buf, "tty")
	assert.Error(t, err, "tty needs a terminal")
	_, err = newProgress(&buf, "fancy")
	assert.Error(t, err)
	p, err = newProgress(&buf, "quiet")
	require.NoError(t, err)
	p.event(step(berth.StepStarted, 1, 1, "FROM scratch"))
	assert.Empty(t, buf.String())
}

func TestFit(t *testing.T) {
	assert.Equal(t, "abc", fit("abc", 5))
	assert.Equal(t, "abcd…", fit("abcdefgh", 5))
	assert.Equal(t, "a b c", fit("a\tb\rc", 10), "control characters cannot move the cursor")
	assert.Equal(t, "", fit("abc", 0))
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantPos []string
		wantTag []string
	}{
		{"flags first", []string{"-t", "a", "."}, []string{"."}, []string{"a"}},
		{"flags after", []string{".", "-t", "a", "--tag=b"}, []string{"."}, []string{"a", "b"}},
		{"double dash", []string{"-t", "a", "--", "-t"}, []string{"-t"}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			var tags multi
			multiAlias(fs, &tags, "", "t", "tag")
			pos, err := parseInterspersed(fs, tt.args)
			require.NoError(t, err)
			assert.Equal(t, tt.wantPos, pos)
			assert.Equal(t, tt.wantTag, []string(tags))
		})
	}
}

func TestKeyValues(t *testing.T) {
	t.Setenv("FROM_ENV", "env value")
	m, err := keyValues([]string{"A=1", "B=", "FROM_ENV", "NOT_SET_ANYWHERE_X"}, true)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"A": "1", "B": "", "FROM_ENV": "env value"}, m)
	m, err = keyValues([]string{"label"}, false)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"label": ""}, m)
	_, err = keyValues([]string{"=x"}, true)
	assert.Error(t, err)
}
