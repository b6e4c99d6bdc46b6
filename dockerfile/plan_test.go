package dockerfile

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const multiStage = `ARG GO=1.26
ARG BASE
FROM golang:${GO} AS build
RUN --mount=type=cache,target=/root/.cache go build -o /out/app
FROM alpine AS tools
RUN apk add git
FROM build AS test
RUN go test
FROM scratch AS final
COPY --from=build /out/app /app
RUN --mount=type=bind,from=tools,target=/t true
FROM final
`

func stageNames(ss []*Stage) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestPlanOrderAndPruning(t *testing.T) {
	f, err := ParseString(multiStage)
	require.NoError(t, err)
	tests := []struct {
		target string
		want   []string
	}{
		{"", []string{"build", "tools", "final", ""}},
		{"final", []string{"build", "tools", "final"}},
		{"test", []string{"build", "test"}},
		{"TOOLS", []string{"tools"}},
		{"build", []string{"build"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			p, err := f.Plan(&BuildOptions{Target: tt.target})
			require.NoError(t, err)
			assert.Equal(t, tt.want, stageNames(p.Order))
		})
	}
	p, err := f.Plan(&BuildOptions{Args: map[string]string{"GO": "1.25"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"golang:1.25", "alpine", "build", "scratch", "final"}, p.Bases)
	require.Len(t, p.Deps[3], 2)
	assert.Equal(t, 0, p.Deps[3][0].Stage)
	assert.IsType(t, &Copy{}, p.Deps[3][0].Via)
	assert.Equal(t, 1, p.Deps[3][1].Stage)
	assert.IsType(t, &Run{}, p.Deps[3][1].Via)
	assert.Equal(t, []Dependency{{Stage: 0, Via: f.Stages[2].From}}, p.Deps[2])
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name, src, target, want string
	}{
		{"cycle", "FROM a AS x\nCOPY --from=y / /\nFROM b AS y\nCOPY --from=x / /\n", "", "dockerfile parse error on line 1: circular dependency detected on stage: x"},
		{"unknown target", "FROM a AS build\n", "biuld", `target stage "biuld" could not be found (did you mean build?)`},
		{"bad index", "FROM a\nCOPY --from=3 / /\n", "", "dockerfile parse error on line 2: invalid stage index 3"},
		{"var from", "FROM a\nARG X\nCOPY --from=$X / /\n", "", "dockerfile parse error on line 3: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround"},
		{"bad global", "ARG A=${B:?needB}\nFROM x\n", "", `dockerfile parse error on line 1: failed to process "${B:?needB}": B: needB`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseString(tt.src)
			require.NoError(t, err)
			_, err = f.Plan(&BuildOptions{Target: tt.target})
			assert.EqualError(t, err, tt.want)
		})
	}
}

func TestPlanFromForwardReferenceIsImage(t *testing.T) {
	f, err := ParseString("FROM later AS first\nFROM alpine AS later\n")
	require.NoError(t, err)
	p, err := f.Plan(nil)
	require.NoError(t, err)
	assert.Empty(t, p.Deps[0], "FROM only refers to earlier stages")
	assert.Equal(t, []string{"later"}, stageNames(p.Order))
}

func TestPredefinedArgs(t *testing.T) {
	v := PredefinedArgs(&BuildOptions{Platform: "linux/arm/v7", BuildPlatform: "linux/amd64", Target: "x"})
	assert.Equal(t, Vars{
		"BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux", "BUILDARCH": "amd64", "BUILDVARIANT": "", "BUILDOSVERSION": "",
		"TARGETPLATFORM": "linux/arm/v7", "TARGETOS": "linux", "TARGETARCH": "arm", "TARGETVARIANT": "v7", "TARGETOSVERSION": "",
		"TARGETSTAGE": "x",
	}, v)
	v = PredefinedArgs(&BuildOptions{BuildPlatform: "linux/amd64", Args: map[string]string{"TARGETARCH": "riscv64"}})
	assert.Equal(t, "linux/amd64", v["TARGETPLATFORM"])
	assert.Equal(t, "riscv64", v["TARGETARCH"])
	assert.Equal(t, "default", v["TARGETSTAGE"])
}

// walkAll plans src and returns every expanded instruction of the target
// build.
func walkAll(t *testing.T, src string, opts *BuildOptions) []Instruction {
	t.Helper()
	f, err := ParseString(src)
	require.NoError(t, err)
	p, err := f.Plan(opts)
	require.NoError(t, err)
	var out []Instruction
	require.NoError(t, p.Walk(func(_ *Stage, ins Instruction) error {
		out = append(out, ins)
		return nil
	}))
	return out
}

func TestScopeArgRules(t *testing.T) {
	src := `ARG GLOBAL=g
ARG TARGETOS
ARG OVER=default
FROM alpine
RUN echo
WORKDIR /$GLOBAL
ARG GLOBAL
WORKDIR /$GLOBAL
ARG LOCAL=l-$GLOBAL
WORKDIR /$LOCAL
ARG OVER=stage
WORKDIR /$OVER
ENV LOCAL=env
WORKDIR /$LOCAL
ARG LOCAL=again
WORKDIR /$LOCAL
ARG TARGETARCH
WORKDIR /$TARGETARCH
ARG NOVAL
WORKDIR /[$NOVAL]
`
	ins := walkAll(t, src, &BuildOptions{Platform: "linux/s390x", Args: map[string]string{"OVER": "cli"}})
	var dirs []string
	for _, i := range ins {
		if w, ok := i.(*Workdir); ok {
			dirs = append(dirs, w.Path)
		}
	}
	assert.Equal(t, []string{
		"/",      // global ARG not visible before redeclaration
		"/g",     // redeclared without value: global value
		"/l-g",   // default expanded with the scope
		"/cli",   // build arg wins over the default
		"/env",   // ENV replaces the ARG
		"/again", // a later ARG replaces the ENV
		"/s390x", // predefined platform ARG
		"/[]",    // ARG without value, default or build arg: unset
	}, dirs)
	ins = walkAll(t, "ARG G=1\nFROM a AS one\nENV L=2\nFROM alpine\nCOPY --from=one / /\nWORKDIR /$L$G\n", nil)
	assert.Equal(t, "/", ins[len(ins)-1].(*Workdir).Path, "a stage from an image starts empty")
}

func TestScopeStageInheritsVariables(t *testing.T) {
	src := "FROM alpine AS base\nENV A=1\nARG B=2\nFROM base\nWORKDIR /$A/$B\n"
	ins := walkAll(t, src, nil)
	assert.Equal(t, "/1/2", ins[len(ins)-1].(*Workdir).Path)
}

func TestScopeExpandsInstructions(t *testing.T) {
	src := `FROM alpine
ARG V=1.0 P=8080 U=app ID=gocache
ENV NAME="my app" DIR=/opt/$U
LABEL version=$V "name"="$NAME"
COPY --chown=$U:$U --chmod=0755 src-$V/ $DIR/
ADD --checksum=sha256:${V} --chown=$U x-$V.tgz /
COPY <<EOF <<'RAW' /etc/
v=$V "q"
EOF
v=$V
RAW
USER $U
VOLUME /data/$V ["ignored"]
STOPSIGNAL SIG${U:+TERM}
EXPOSE $P ${P}/udp
RUN --mount=type=cache,id=$ID,target=/c echo $V
CMD echo $V
`
	ins := walkAll(t, src, nil)
	env := ins[1].(*Env)
	assert.Equal(t, []KeyValue{{Key: "NAME", Value: "my app"}, {Key: "DIR", Value: "/opt/app"}}, env.Vars)
	assert.Equal(t, []KeyValue{{Key: "version", Value: "1.0"}, {Key: "name", Value: "my app"}}, ins[2].(*Label).Labels)
	cp := ins[3].(*Copy)
	assert.Equal(t, []string{"src-1.0/"}, cp.Sources)
	assert.Equal(t, "/opt/app/", cp.Dest)
	assert.Equal(t, "app:app", cp.Chown)
	add := ins[4].(*Add)
	assert.Equal(t, "sha256:1.0", add.Checksum)
	assert.Equal(t, []string{"x-1.0.tgz"}, add.Sources)
	hd := ins[5].(*Copy)
	assert.Equal(t, []Content{{Path: "EOF", Data: "v=1.0 \"q\"\n", Expand: true}, {Path: "RAW", Data: "v=$V\n"}}, hd.Contents)
	assert.Equal(t, "app", ins[6].(*User).User)
	assert.Equal(t, []string{"/data/1.0", "[ignored]"}, ins[7].(*Volume).Paths)
	assert.Equal(t, "SIGTERM", ins[8].(*StopSignal).Signal)
	assert.Equal(t, []string{"8080", "8080/udp"}, ins[9].(*Expose).Ports)
	run := ins[10].(*Run)
	assert.Equal(t, "gocache", run.Mounts[0].ID)
	assert.Equal(t, MountCache, run.Mounts[0].Type)
	assert.Equal(t, []string{"echo $V"}, run.Args, "RUN commands are left to the shell")
	assert.Equal(t, []string{"echo $V"}, ins[11].(*Cmd).Args)
}

func TestScopeErrors(t *testing.T) {
	f, err := ParseString("FROM a\nWORKDIR ${X:?X is required}\n")
	require.NoError(t, err)
	p, err := f.Plan(nil)
	require.NoError(t, err)
	err = p.Walk(func(*Stage, Instruction) error { return nil })
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.Range.Start.Line)
	assert.EqualError(t, err, `dockerfile parse error on line 2: failed to process "${X:?X is required}": X: X is required`)

	stop := errors.New("stop")
	f, err = ParseString("FROM a\nRUN x\nRUN y\n")
	require.NoError(t, err)
	p, err = f.Plan(nil)
	require.NoError(t, err)
	n := 0
	err = p.Walk(func(*Stage, Instruction) error { n++; return stop })
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)
}

func TestLexerOptions(t *testing.T) {
	env := Vars{"A": "x y"}
	tests := []struct {
		lx   Lexer
		in   string
		want string
	}{
		{Lexer{}, `"a" '$A' \$A $A`, `a $A $A x y`},
		{Lexer{KeepQuotes: true}, `"a" '$A'`, `"a" '$A'`},
		{Lexer{KeepEscapes: true}, `\$A a\ b`, `\$A a\ b`},
		{Lexer{KeepUnset: true}, `$Z ${Z} ${Z:-d} ${A:-d}`, `$Z ${Z} ${Z:-d} x y`},
		{Lexer{NoQuotes: true}, `"$A" 'b'`, `"x y" 'b'`},
		{Lexer{Escape: '`'}, "a`$A \\x", `a$A \x`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := tt.lx.Expand(tt.in, env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
