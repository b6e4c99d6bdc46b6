package dockerfile

import "time"

// Instruction is one typed instruction. The concrete types are *From,
// *Run, *Cmd, *Label, *Maintainer, *Expose, *Env, *Add, *Copy,
// *Entrypoint, *Volume, *User, *Workdir, *Arg, *Onbuild, *StopSignal,
// *Healthcheck and *Shell; the interface is sealed.
//
// Values are kept as written: variables are not yet expanded and quotes
// are not yet removed where the instruction expands (see [Scope]).
type Instruction interface {
	// Keyword is the instruction's name in upper case, e.g. "RUN".
	Keyword() string
	// Range locates the instruction in the file.
	Range() Range
	// Source is the instruction's original text.
	Source() string
	// Node is the untyped node the instruction was built from.
	Node() *Node
	instruction()
}

// base carries what every instruction has.
type base struct {
	node *Node
	kind kind
}

func (b *base) Keyword() string { return keywords[b.kind] }
func (b *base) Range() Range    { return b.node.Range }
func (b *base) Source() string  { return b.node.Source }
func (b *base) Node() *Node     { return b.node }
func (b *base) instruction()    {}

// CommandLine is the command of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD.
type CommandLine struct {
	// Args is the command. In shell form it holds one string, to be run
	// by the stage's SHELL; in exec form, the argument vector.
	Args []string
	// Shell is true for shell form.
	Shell bool
}

// KeyValue is one ENV or LABEL pair, as written (quotes and variables
// still in place).
type KeyValue struct {
	Key   string
	Value string
	// Legacy is true for the whitespace form "ENV key value".
	Legacy bool
}

// From starts a stage: FROM [--platform=P] IMAGE [AS NAME].
type From struct {
	base
	// Image is the base: an image reference, the name of an earlier stage,
	// or "scratch". It may contain variables from the global ARGs.
	Image string
	// Name is the stage name in lower case; "" when the stage is unnamed.
	Name string
	// Platform is the --platform value as written; "" when absent.
	Platform string
}

// Run runs a command: RUN [--mount=...] [--network=...] [--security=...]
// [--device=...] COMMAND.
type Run struct {
	base
	CommandLine
	// Heredocs are the here-documents of the command.
	Heredocs []Heredoc
	// Mounts are the parsed --mount flags, in order (see [Mount.Type] for
	// flags that use variables).
	Mounts []*Mount
	// Network is the --network value: "default", "none" or "host"; ""
	// when absent (BuildKit then uses "default").
	Network string
	// Security is the --security value: "sandbox" or "insecure"; "" when
	// absent (sandbox).
	Security string
	// Devices are the --device values as written.
	Devices []string
}

// Cmd sets the default command: CMD COMMAND.
type Cmd struct {
	base
	CommandLine
}

// Entrypoint sets the entry point: ENTRYPOINT COMMAND.
type Entrypoint struct {
	base
	CommandLine
}

// Label adds labels: LABEL k=v ...
type Label struct {
	base
	Labels []KeyValue
}

// Maintainer is the deprecated MAINTAINER NAME.
type Maintainer struct {
	base
	Name string
}

// Expose declares ports: EXPOSE 80 443/tcp 8000-8010/udp. Ports holds the
// words as written; [Expose.PortSpecs] parses them.
type Expose struct {
	base
	Ports []string
}

// Env sets environment variables: ENV k=v ...
type Env struct {
	base
	Vars []KeyValue
}

// Add copies files, URLs and archives: ADD [flags] SRC... DEST.
type Add struct {
	base
	FileCopy
	// KeepGitDir is the --keep-git-dir value; nil when absent.
	KeepGitDir *bool
	// Checksum is the --checksum value; "" when absent.
	Checksum string
	// Unpack is the --unpack value; nil when absent.
	Unpack *bool
}

// Copy copies files: COPY [flags] SRC... DEST.
type Copy struct {
	base
	FileCopy
	// From is the --from value: a stage name or index, or an image;
	// "" for the build context.
	From string
	// Parents is the --parents flag.
	Parents bool
}

// FileCopy is what ADD and COPY share.
type FileCopy struct {
	// Sources are the source paths (not the heredocs).
	Sources []string
	// Contents are the inline sources written as here-documents.
	Contents []Content
	// Dest is the destination path.
	Dest string
	// Chown is the --chown value ("user[:group]"); "" when absent.
	Chown string
	// Chmod is the --chmod value (octal or symbolic); "" when absent.
	Chmod string
	// Link is the --link flag.
	Link bool
	// Exclude are the --exclude patterns.
	Exclude []string
}

// Content is an inline COPY/ADD source written as a here-document.
type Content struct {
	// Path is the file name (the heredoc name).
	Path string
	// Data is the body, tabs already removed for "<<-".
	Data string
	// Expand reports whether variables in Data are expanded.
	Expand bool
}

// Volume declares mount points: VOLUME ["/a", "/b"] or VOLUME /a /b.
type Volume struct {
	base
	Paths []string
}

// User sets the user: USER user[:group].
type User struct {
	base
	User string
}

// Workdir sets the working directory: WORKDIR PATH.
type Workdir struct {
	base
	Path string
}

// Arg declares build arguments: ARG NAME[=DEFAULT] ...
type Arg struct {
	base
	Args []ArgDef
}

// ArgDef is one declared build argument.
type ArgDef struct {
	Name string
	// Default is the default value as written; nil when there is none.
	Default *string
}

// Onbuild registers a trigger: ONBUILD INSTRUCTION.
type Onbuild struct {
	base
	// Trigger is the instruction to run in a child build.
	Trigger Instruction
	// Expression is the trigger's text as written after ONBUILD.
	Expression string
}

// StopSignal sets the stop signal: STOPSIGNAL SIGTERM.
type StopSignal struct {
	base
	Signal string
}

// Healthcheck configures the health check:
// HEALTHCHECK [flags] CMD COMMAND, or HEALTHCHECK NONE.
type Healthcheck struct {
	base
	// None is true for HEALTHCHECK NONE (disable the inherited check).
	None bool
	// Command is the check; zero for NONE.
	Command CommandLine
	// Interval, Timeout, StartPeriod and StartInterval are the flags'
	// durations; zero when absent (the runtime default applies).
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	// Retries is the --retries value; 0 when absent.
	Retries int
}

// Shell sets the shell for shell-form commands: SHELL ["sh", "-c"].
type Shell struct {
	base
	Shell []string
}
