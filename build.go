package berth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/dockerfile"
	"github.com/berthlabs/berth/layers"
)

// BuildOptions are the inputs of [Build]. Store and Snapshotter are
// required; the zero value of every other field is Docker's default.
type BuildOptions struct {
	// Dockerfile is the path of the Dockerfile, relative to the context
	// directory unless absolute; "" means "Dockerfile" in the context.
	// Ignored when DockerfileContent is set.
	Dockerfile string

	// DockerfileContent, when not nil, is the Dockerfile itself (docker
	// build -f - reads it from stdin this way); errors then name the file
	// "Dockerfile". The .dockerignore at the context root still applies.
	DockerfileContent []byte

	// Args are the build arguments (--build-arg NAME=VALUE). A value here
	// overrides an ARG default. SOURCE_DATE_EPOCH among them sets the
	// epoch when SourceDateEpoch is nil.
	Args map[string]string

	// Target is the stage to build (--target); "" means the last stage.
	// Stages the target does not need are not built.
	Target string

	// Labels are added to the image config after the Dockerfile's LABELs
	// (docker build --label), replacing labels of the same key.
	Labels map[string]string

	// Tags name the built image (normalised like [ParseReference]); none:
	// the image is stored without a name and found by its digest or ID.
	Tags []string

	// NoCache builds every step again instead of reusing cached results;
	// the results still refresh the cache.
	NoCache bool

	// Progress, if not nil, receives the build's events (see
	// [BuildEvent]) in order, never concurrently. It must not block for
	// long: RUN output waits for it. [NewBuildLog] renders them as a
	// plain log.
	Progress func(BuildEvent)

	// Store is the image store that holds base images and receives the
	// built image and its layers. Required.
	Store *ImageStore

	// Snapshotter holds the build's file system trees: each committed
	// layer snapshot is named by its chain ID, as [Image.Unpack] names
	// them, so built images run without unpacking again. Required;
	// [layers.Overlay] or [layers.Copy] (it needs their ApplyLayer and
	// Diff methods).
	Snapshotter layers.Snapshotter

	// SourceDateEpoch is the time recorded as the image's creation time
	// and in its history, and the latest file modification time layers
	// hold (later ones are clamped to it), so that the same inputs give
	// the same digests. Nil means the build argument SOURCE_DATE_EPOCH
	// (seconds since 1970) if given, else the Unix epoch (1970-01-01).
	SourceDateEpoch *time.Time

	// Compression is how new layers are stored. The zero value is
	// [layers.Uncompressed] (the fastest, what docker save writes); use
	// [layers.Gzip] for images bound for a registry.
	Compression layers.Compression

	// CacheDir holds the step cache and the RUN --mount=type=cache
	// directories; "" means "build-cache" in the store's directory.
	CacheDir string

	// StateDir is the state directory of the containers RUN starts; ""
	// means [DefaultStateDir].
	StateDir string
}

// BuildError is the error [Build] returns for a failure it can place in
// the Dockerfile: a syntax error, an instruction that cannot be expanded
// or executed, a RUN that exits non-zero. Err keeps the cause: a
// *[dockerfile.ParseError], a *[RunError], or a wrapped category such as
// fs.ErrNotExist for a missing COPY source or base image.
type BuildError struct {
	// File is the Dockerfile's name as given (or "Dockerfile").
	File string
	// Line is the 1-based line of the instruction at fault; 0 when the
	// failure has no line (an unreadable file).
	Line int
	// Instruction is the instruction's text, expanded where the
	// instruction expands ("COPY app.conf /etc/"); "" for syntax errors.
	Instruction string
	// Err is the cause.
	Err error
}

// Error formats the error as "FILE:LINE: INSTRUCTION: CAUSE".
func (e *BuildError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Instruction != "" {
		b.WriteString(": " + e.Instruction)
	}
	var pe *dockerfile.ParseError
	if errors.As(e.Err, &pe) && e.Err == error(pe) {
		b.WriteString(": " + pe.Msg)
	} else {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Err.
func (e *BuildError) Unwrap() error { return e.Err }

// RunError reports a RUN instruction whose command exited with a non-zero
// status. [BuildError] wraps it with the instruction's position.
type RunError struct {
	// ExitCode is the command's exit status (128+N when signal N killed
	// it).
	ExitCode int
	// Output is the end of the command's output (stdout and stderr as
	// they interleaved), at most the last 50 lines.
	Output string
}

// Error names the exit code and shows the output.
func (e *RunError) Error() string {
	msg := "command exited with code " + strconv.Itoa(e.ExitCode)
	if out := strings.TrimRight(e.Output, "\n"); out != "" {
		msg += "; its output ended with:\n" + out
	}
	return msg
}

// Build builds the image that the Dockerfile in contextDir (or
// opts.DockerfileContent) describes, stores it in opts.Store with
// opts.Tags as its names, and returns it.
//
// Every instruction of the [dockerfile] package is supported, with the
// limits below. FROM takes "scratch", an earlier stage, an image of the
// store ("busybox", "app:1", a digest or ID) or an OCI image layout
// ("oci:DIR[:REF]" as skopeo and buildah write it, or
// "oci-layout://DIR[:REF]"; relative DIRs are taken from contextDir);
// nothing is pulled from a registry. RUN runs its command in a
// [Container] on the stage's tree, with the stage's environment (ENV and
// ARG values), USER, WORKDIR and SHELL; --network=none and the default
// give it an isolated network namespace with only a loopback interface
// (no bridge yet), --network=host the host's. RUN --mount supports bind
// (from the context or a stage), cache and tmpfs; secret and ssh mounts,
// --security=insecure and --device wrap errors.ErrUnsupported. COPY and
// ADD read the build context without what .dockerignore excludes, or
// another stage (--from), and follow Docker's rules for directories,
// wildcards, --chown, --chmod and --link; ADD extracts local tar
// archives (plain, gzip, bzip2 or zstd) and refuses URLs and git
// repositories (no network; errors.ErrUnsupported). Metadata
// instructions, including HEALTHCHECK, ONBUILD and SHELL, go to the
// image config (Docker's fields, also in OCI images, as BuildKit writes
// them) and its history; a base image's ONBUILD triggers run at the
// start of a stage built on it. WORKDIR is recorded in the config and
// created by the next RUN, as the classic builder and buildah do.
//
// Each RUN, COPY and ADD is cached by the chain ID of the layers below
// it, the instruction as expanded (for RUN: also its environment, user,
// working directory and mounts) and the digests of what it reads (file
// contents and modes, not modification times), so a rebuild with nothing
// changed only looks results up, and a change rebuilds from the first
// step it affects. COPY --link layers are cached without their parent and
// reused on any base. Layers are deterministic (sorted tar entries,
// numeric owners, times clamped to the epoch, see
// BuildOptions.SourceDateEpoch), so the same Dockerfile and context give
// the same image digest anywhere.
//
// Errors: a problem located in the Dockerfile is a *[BuildError]
// ("Dockerfile:3: ..."), wrapping a *[dockerfile.ParseError] for syntax
// errors, a *[RunError] for a failed RUN, fs.ErrNotExist for a missing
// COPY source (named) or base image. Nothing built before the failure is
// lost: completed steps stay cached.
//
// RUN needs root and a process that called [Dispatch] first (see
// [Container]); a Dockerfile without RUN builds unprivileged with a
// [layers.Copy] snapshotter. Files are then owned by the caller on disk,
// and layers still record the owners the Dockerfile asks for, with two
// exceptions: COPY --from records the owners the stage's files have on
// disk (the caller), and files extracted by ADD belong to root.
// Cancelling ctx stops the build and kills a running RUN; what the step
// had made is removed.
//
// Builds may run concurrently, also in several processes, on one store,
// snapshotter and cache directory. The cache directory holds one small
// file per cached step and the RUN cache mounts; it is never pruned by
// Build. [ImageStore.GC] may delete the layers of steps that no image
// uses; those steps then run again.
//
// Not supported (each fails at its line, wrapping errors.ErrUnsupported):
// RUN --mount=type=secret and type=ssh, cache mounts seeded with from=,
// --security=insecure, --device, COPY --parents, ADD of URLs and git
// repositories (and its --checksum and --keep-git-dir), xz-compressed
// ADD archives. FROM --platform is recorded but the image for this
// machine's platform is used. SOURCE_DATE_EPOCH is read from
// BuildOptions, not from the environment of the process: a CLI passes it
// on.
func Build(ctx context.Context, contextDir string, opts *BuildOptions) (*Image, error) {
	b, err := newBuilder(ctx, contextDir, opts)
	if err != nil {
		return nil, err
	}
	return b.build(ctx)
}

// newBuilder checks opts and reads the Dockerfile and .dockerignore.
func newBuilder(ctx context.Context, contextDir string, opts *BuildOptions) (*builder, error) {
	if opts == nil || opts.Store == nil || opts.Snapshotter == nil {
		return nil, fmt.Errorf("building %q: BuildOptions.Store and Snapshotter are required: %w", contextDir, fs.ErrInvalid)
	}
	abs, err := filepath.Abs(contextDir)
	if err != nil {
		return nil, fmt.Errorf("building %q: %w", contextDir, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("building: context directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("building: context %q is not a directory: %w", contextDir, fs.ErrInvalid)
	}
	b := &builder{opts: opts, contextDir: abs, stages: map[int]*stageState{}}
	b.progress.fn = opts.Progress
	if err := b.readDockerfile(ctx); err != nil {
		return nil, err
	}
	if b.epoch, err = buildEpoch(opts); err != nil {
		return nil, fmt.Errorf("building %q: %w", contextDir, err)
	}
	b.cacheDir = opts.CacheDir
	if b.cacheDir == "" {
		b.cacheDir = filepath.Join(opts.Store.Dir(), "build-cache")
	}
	b.hashes = newFileHashes()
	return b, nil
}

// readDockerfile parses the Dockerfile and loads the ignore file.
func (b *builder) readDockerfile(ctx context.Context) error {
	name, data := "Dockerfile", b.opts.DockerfileContent
	ignoreFor := name
	if data == nil {
		if b.opts.Dockerfile != "" {
			name = b.opts.Dockerfile
		}
		path := name
		if !filepath.IsAbs(path) {
			path = filepath.Join(b.contextDir, path)
		}
		ignoreFor = path
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return fmt.Errorf("building: reading Dockerfile: %w", err)
		}
	}
	b.fileName = name
	f, err := dockerfile.Parse(strings.NewReader(string(data)))
	if err != nil {
		return b.parseError(err)
	}
	b.file = f
	ign, _, err := dockerfile.LoadIgnore(ctx, b.contextDir, ignoreFor)
	if err != nil {
		return fmt.Errorf("building: reading .dockerignore: %w", err)
	}
	b.ignore = ign
	return nil
}

// parseError places a Dockerfile error at its line.
func (b *builder) parseError(err error) error {
	var pe *dockerfile.ParseError
	if errors.As(err, &pe) {
		return &BuildError{File: b.fileName, Line: pe.Range.Start.Line, Err: pe}
	}
	return &BuildError{File: b.fileName, Err: err}
}

// buildEpoch returns the time the build records and clamps to.
func buildEpoch(opts *BuildOptions) (time.Time, error) {
	if opts.SourceDateEpoch != nil {
		return opts.SourceDateEpoch.UTC().Truncate(time.Second), nil
	}
	if v, ok := opts.Args["SOURCE_DATE_EPOCH"]; ok && v != "" {
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("build argument SOURCE_DATE_EPOCH %q: %w", v, fs.ErrInvalid)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Unix(0, 0).UTC(), nil
}

// stepError places err at instruction ins of the Dockerfile.
func (b *builder) stepError(ins dockerfile.Instruction, text string, err error) error {
	var be *BuildError
	if errors.As(err, &be) {
		return err
	}
	var pe *dockerfile.ParseError
	if errors.As(err, &pe) && text == "" {
		return &BuildError{File: b.fileName, Line: pe.Range.Start.Line, Err: pe}
	}
	line := 0
	if ins != nil {
		line = ins.Range().Start.Line
	}
	return &BuildError{File: b.fileName, Line: line, Instruction: text, Err: err}
}

// chainOf returns the chain ID of diffIDs as a snapshot name ("" for none).
func chainOf(diffIDs []digest.Digest) string {
	if len(diffIDs) == 0 {
		return ""
	}
	return layers.ChainID(diffIDs).String()
}
