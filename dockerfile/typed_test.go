package dockerfile

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseOne(t *testing.T, src string) Instruction {
	t.Helper()
	f, err := ParseString("FROM scratch\n" + src)
	require.NoError(t, err)
	require.Len(t, f.Stages, 1)
	require.Len(t, f.Stages[0].Instructions, 1)
	return f.Stages[0].Instructions[0]
}

func ptr[T any](v T) *T { return &v }

func TestTypedInstructions(t *testing.T) {
	u := func(v uint64) *uint64 { return &v }
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"run shell", "RUN echo hi", &Run{CommandLine: CommandLine{Args: []string{"echo hi"}, Shell: true}}},
		{"run exec", `RUN ["echo", "hi"]`, &Run{CommandLine: CommandLine{Args: []string{"echo", "hi"}}}},
		{"run network security device", "RUN --network=none --security=insecure --device=gpu0 --device=name=x,required true",
			&Run{CommandLine: CommandLine{Args: []string{"true"}, Shell: true}, Network: "none", Security: "insecure", Devices: []string{"gpu0", "name=x,required"}}},
		{"run mounts", "RUN --mount=type=cache,target=/root/.cache,id=go,sharing=locked,mode=0700,uid=1,gid=2 --mount=type=bind,from=build,source=/out,target=/in,rw --mount=type=tmpfs,target=/t,size=64m --mount=type=secret,id=tok,env=TOKEN,required --mount=type=ssh,target=/ssh,required=true go build",
			&Run{CommandLine: CommandLine{Args: []string{"go build"}, Shell: true}, Mounts: []*Mount{
				{Raw: "type=cache,target=/root/.cache,id=go,sharing=locked,mode=0700,uid=1,gid=2", Type: MountCache, Target: "/root/.cache", ID: "go", Sharing: "locked", Mode: u(0o700), UID: u(1), GID: u(2)},
				{Raw: "type=bind,from=build,source=/out,target=/in,rw", Type: MountBind, From: "build", Source: "/out", Target: "/in"},
				{Raw: "type=tmpfs,target=/t,size=64m", Type: MountTmpfs, Target: "/t", SizeLimit: 64 << 20},
				{Raw: "type=secret,id=tok,env=TOKEN,required", Type: MountSecret, ID: "tok", Env: ptr("TOKEN"), Required: true, ReadOnly: true},
				{Raw: "type=ssh,target=/ssh,required=true", Type: MountSSH, Target: "/ssh", Required: true, ReadOnly: true},
			}}},
		{"run mount default bind read-only", "RUN --mount=target=/src,src=. make",
			&Run{CommandLine: CommandLine{Args: []string{"make"}, Shell: true}, Mounts: []*Mount{{Raw: "target=/src,src=.", Type: MountBind, Source: ".", Target: "/src", ReadOnly: true}}}},
		{"run heredoc", "RUN <<EOF\necho a\nEOF",
			&Run{CommandLine: CommandLine{Args: []string{"<<EOF"}, Shell: true}, Heredocs: []Heredoc{{Name: "EOF", Expand: true, Content: "echo a\n"}}}},
		{"cmd shell", "CMD echo hi", &Cmd{CommandLine: CommandLine{Args: []string{"echo hi"}, Shell: true}}},
		{"cmd exec", `CMD ["a", "b"]`, &Cmd{CommandLine: CommandLine{Args: []string{"a", "b"}}}},
		{"cmd empty", `CMD []`, &Cmd{CommandLine: CommandLine{Args: []string{}}}},
		{"entrypoint", `ENTRYPOINT ["/bin/app", "-v"]`, &Entrypoint{CommandLine: CommandLine{Args: []string{"/bin/app", "-v"}}}},
		{"label", `LABEL a=b "c d"="e f"`, &Label{Labels: []KeyValue{{Key: "a", Value: "b"}, {Key: `"c d"`, Value: `"e f"`}}}},
		{"label legacy", `LABEL a b c`, &Label{Labels: []KeyValue{{Key: "a", Value: "b c", Legacy: true}}}},
		{"maintainer", "MAINTAINER Jane <j@x>", &Maintainer{Name: "Jane <j@x>"}},
		{"expose", "EXPOSE 80 443/tcp 53/UDP 8000-8010/sctp", &Expose{Ports: []string{"80", "443/tcp", "53/UDP", "8000-8010/sctp"}}},
		{"env", `ENV A=1 B="two words"`, &Env{Vars: []KeyValue{{Key: "A", Value: "1"}, {Key: "B", Value: `"two words"`}}}},
		{"env legacy", "ENV A one two", &Env{Vars: []KeyValue{{Key: "A", Value: "one two", Legacy: true}}}},
		{"add all flags", "ADD --chown=1:2 --chmod=0644 --link --keep-git-dir=true --checksum=sha256:abc --unpack=false --exclude=*.md --exclude=.git https://x/a.tgz /dst/",
			&Add{FileCopy: FileCopy{Sources: []string{"https://x/a.tgz"}, Dest: "/dst/", Chown: "1:2", Chmod: "0644", Link: true, Exclude: []string{"*.md", ".git"}},
				KeepGitDir: ptr(true), Checksum: "sha256:abc", Unpack: ptr(false)}},
		{"copy all flags", "COPY --from=build --chown=app:app --chmod=u+x,go-w --link=false --parents --exclude=tmp a b /dst",
			&Copy{FileCopy: FileCopy{Sources: []string{"a", "b"}, Dest: "/dst", Chown: "app:app", Chmod: "u+x,go-w", Exclude: []string{"tmp"}}, From: "build", Parents: true}},
		{"copy json", `COPY ["a b", "/c d/"]`, &Copy{FileCopy: FileCopy{Sources: []string{"a b"}, Dest: "/c d/"}}},
		{"copy heredocs", "COPY <<A <<-'B' /dst/\nhello $X\nA\n\tworld $Y\n\tB",
			&Copy{FileCopy: FileCopy{Dest: "/dst/", Contents: []Content{{Path: "A", Data: "hello $X\n", Expand: true}, {Path: "B", Data: "world $Y\n"}}}}},
		{"volume json", `VOLUME ["/a", "/b"]`, &Volume{Paths: []string{"/a", "/b"}}},
		{"volume list", `VOLUME /a /b`, &Volume{Paths: []string{"/a", "/b"}}},
		{"user", "USER app:app", &User{User: "app:app"}},
		{"workdir", "WORKDIR /srv/app", &Workdir{Path: "/srv/app"}},
		{"arg", `ARG A B=2 C="x y"`, &Arg{Args: []ArgDef{{Name: "A"}, {Name: "B", Default: ptr("2")}, {Name: "C", Default: ptr(`"x y"`)}}}},
		{"stopsignal", "STOPSIGNAL SIGQUIT", &StopSignal{Signal: "SIGQUIT"}},
		{"healthcheck", "HEALTHCHECK --interval=5s --timeout=3s --start-period=1m --start-interval=2s --retries=4 CMD curl -f http://x/",
			&Healthcheck{Command: CommandLine{Args: []string{"curl -f http://x/"}, Shell: true}, Interval: 5 * time.Second, Timeout: 3 * time.Second, StartPeriod: time.Minute, StartInterval: 2 * time.Second, Retries: 4}},
		{"healthcheck exec", `HEALTHCHECK CMD ["/bin/check"]`, &Healthcheck{Command: CommandLine{Args: []string{"/bin/check"}}}},
		{"healthcheck none", "HEALTHCHECK NONE", &Healthcheck{None: true}},
		{"shell", `SHELL ["/bin/bash", "-eo", "pipefail", "-c"]`, &Shell{Shell: []string{"/bin/bash", "-eo", "pipefail", "-c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOne(t, tt.src)
			clearBase(got)
			assert.Equal(t, tt.want, got)
		})
	}
}

// clearBase zeroes the embedded node so that structs compare by their
// typed fields.
func clearBase(ins Instruction) {
	switch c := ins.(type) {
	case *Run:
		c.base = base{}
	case *Cmd:
		c.base = base{}
	case *Entrypoint:
		c.base = base{}
	case *Label:
		c.base = base{}
	case *Maintainer:
		c.base = base{}
	case *Expose:
		c.base = base{}
	case *Env:
		c.base = base{}
	case *Add:
		c.base = base{}
	case *Copy:
		c.base = base{}
	case *Volume:
		c.base = base{}
	case *User:
		c.base = base{}
	case *Workdir:
		c.base = base{}
	case *Arg:
		c.base = base{}
	case *StopSignal:
		c.base = base{}
	case *Healthcheck:
		c.base = base{}
	case *Shell:
		c.base = base{}
	case *Onbuild:
		c.base = base{}
		if c.Trigger != nil {
			clearBase(c.Trigger)
		}
	}
}

func TestTypedKeywordsAndRanges(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\nARG BASE=alpine\nfrom --platform=$BUILDPLATFORM ${BASE} As Build\n  Run echo a \\\n   b\nFROM build\nONBUILD COPY --from=build /a /b\n"
	f, err := ParseString(src)
	require.NoError(t, err)
	require.Len(t, f.Args, 1)
	require.Len(t, f.Stages, 2)
	s := f.Stages[0]
	assert.Equal(t, "build", s.Name)
	assert.Equal(t, "${BASE}", s.Base)
	assert.Equal(t, "$BUILDPLATFORM", s.Platform)
	assert.Equal(t, "FROM", s.From.Keyword())
	run := s.Instructions[0].(*Run)
	assert.Equal(t, "RUN", run.Keyword())
	assert.Equal(t, Range{Start: Position{4, 3}, End: Position{5, 5}}, run.Range())
	assert.Equal(t, "Run echo a \\\n   b", run.Source())
	assert.Equal(t, []string{"echo a    b"}, run.Args)
	assert.Equal(t, Range{Start: Position{3, 1}, End: Position{5, 5}}, s.Range)
	ob := f.Stages[1].Instructions[0].(*Onbuild)
	assert.Equal(t, "COPY --from=build /a /b", ob.Expression)
	cp := ob.Trigger.(*Copy)
	assert.Equal(t, "build", cp.From)
	assert.Equal(t, []Directive{{Name: "syntax", Value: "docker/dockerfile:1", Range: Range{Position{1, 1}, Position{1, 29}}}}, f.Directives)
	var rules []string
	for _, w := range f.Warnings {
		rules = append(rules, w.Rule)
	}
	assert.Equal(t, []string{"StageNameCasing", "FromAsCasing"}, rules)
}

func TestTypedWarnings(t *testing.T) {
	src := "FROM alpine AS base\nMAINTAINER me\nENV A 1\nLABEL b 2\nCMD run it\nENTRYPOINT go\nEXPOSE 80/TCP 1.2.3.4:80:80\nRUN a \\\n\n  b\nFROM base AS base\n"
	f, err := ParseString(src)
	require.NoError(t, err)
	var got []string
	for _, w := range f.Warnings {
		got = append(got, w.String())
	}
	assert.Equal(t, []string{
		"line 10: NoEmptyContinuation: Empty continuation line found in: RUN a   b",
		"line 2: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label",
		`line 3: LegacyKeyValueFormat: "ENV key=value" should be used instead of legacy "ENV key value" format`,
		`line 4: LegacyKeyValueFormat: "LABEL key=value" should be used instead of legacy "LABEL key value" format`,
		"line 5: JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
		"line 6: JSONArgsRecommended: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to OS signals",
		"line 7: ExposeProtoCasing: Defined protocol '80/TCP' in EXPOSE instruction should be lowercase",
		"line 7: ExposeInvalidFormat: EXPOSE instruction should not define an IP address or host-port mapping, found '1.2.3.4:80:80'",
		`line 11: DuplicateStageName: Duplicate stage name "base", stage names should be unique`,
	}, got)
}

func TestPorts(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  string
	}{
		{in: "80", want: "80/tcp"},
		{in: "80/udp", want: "80/udp"},
		{in: "80/UDP", want: "80/udp"},
		{in: "132/sctp", want: "132/sctp"},
		{in: "8000-8010", want: "8000-8010/tcp"},
		{in: "9-9/tcp", want: "9/tcp"},
		{in: "127.0.0.1:8080:80", want: "80/tcp"},
		{in: "[::1]:8080:80/udp", want: "80/udp"},
		{in: "8080:80", want: "80/tcp"},
		{in: "0", want: "0/tcp"},
		{in: "65535", want: "65535/tcp"},
		{in: "65536", err: `invalid containerPort: 65536: invalid start port '65536': value out of range`},
		{in: "x", err: `invalid containerPort: x: invalid start port 'x': invalid syntax`},
		{in: "80/icmp", err: `invalid port: "80/icmp": invalid proto: icmp`},
		{in: "/tcp", err: `invalid port: "/tcp": no port specified`},
		{in: "10-5", err: `invalid containerPort: 10-5: invalid port range`},
		{in: "1-", err: `invalid containerPort: 1-: invalid end port '': value is empty`},
		{in: "bad:ip:80", err: `invalid IP address: bad`},
		{in: "1000-1001:80-90", err: `invalid ranges specified for container and host Ports: 80-90 and 1000-1001`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := ParsePort(tt.in)
			if tt.err != "" {
				assert.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, p.String())
		})
	}
}

func TestHealthcheckTest(t *testing.T) {
	for src, want := range map[string][]string{
		"HEALTHCHECK NONE":          {"NONE"},
		"HEALTHCHECK CMD true":      {"CMD-SHELL", "true"},
		`HEALTHCHECK CMD ["a","b"]`: {"CMD", "a", "b"},
	} {
		h := parseOne(t, src).(*Healthcheck)
		assert.Equal(t, want, h.Test(), src)
	}
}
