// Package dockerfile reads Dockerfiles the way BuildKit reads them: a
// parser with source ranges, typed instructions, stages and their
// dependency graph, shell-word variable expansion with BuildKit's ARG and
// ENV scoping, and .dockerignore matching. It imports only the standard
// library and works on every OS; it needs no privileges and runs nothing.
//
// # Vocabulary
//
//   - node: one instruction as written ([Node]): keyword, flags, arguments,
//     heredocs, its [Range] and its original text.
//   - syntax tree: all nodes plus directives and warnings ([Syntax]), what
//     BuildKit's parser returns; [Syntax.Dump] prints it in BuildKit's test
//     format.
//   - instruction: a typed node ([Instruction]: *From, *Run, *Copy, ...),
//     with flags parsed and checked.
//   - stage: a FROM and the instructions after it ([Stage]); stages are
//     linked by FROM <stage>, COPY --from and RUN --mount from= into a
//     graph that a [Plan] orders and prunes for a --target.
//   - scope: the variables in effect at a point of a stage ([Scope]):
//     build arguments, ARG, ENV and the predefined platform ARGs.
//   - directive: "# syntax=", "# escape=" or "# check=" at the top of the
//     file; only comment lines before anything else count.
//   - escape character: '\' or, with "# escape=`", '`'. It continues
//     lines and escapes characters.
//
// # Reading rules
//
// Lines end at "\n" (a preceding "\r" is dropped, so CRLF files read the
// same) and a UTF-8 byte order mark is ignored. An instruction continues
// on the next line when its line ends with the escape character; comment
// lines and blank lines inside a continuation are skipped (a blank one
// gives a NoEmptyContinuation warning). Keywords match in any case.
// Leading --flags are split off. Then each keyword splits its arguments
// its own way: RUN, CMD, ENTRYPOINT and SHELL take a JSON array (exec
// form) or the rest of the line (shell form); malformed JSON falls back to
// shell form, while a valid array holding a non-string is an error. ADD,
// COPY and VOLUME take a JSON array or blank-separated words; ENV and LABEL
// take key=value words (or the legacy "key value"); ARG takes words; FROM
// and EXPOSE blank-separated words. RUN, COPY and ADD lines (and ONBUILD of
// them) may start here-documents: <<EOF, <<-EOF (leading tabs removed),
// <<'EOF' or <<"EOF" (no expansion in the body), 3<<EOF, several on one
// line, read in order.
//
// Values are kept as written. Expansion happens for a build, through a
// [Plan] and its [Scope]: it follows BuildKit's rules for which
// instructions expand (see [Scope]).
//
// # Errors and warnings
//
// A file that cannot be read gives a *[ParseError] with the [Range] of the
// instruction at fault and BuildKit's wording; a misspelt keyword, flag or
// mount option gets a "(did you mean X?)" hint. No input makes the package
// panic. Problems that do not stop a build (deprecated MAINTAINER, legacy
// "ENV k v", empty continuation lines, casing) are returned as [Warning]
// values, never logged.
//
// # Compatibility notes
//
// The parser reproduces BuildKit's results byte for byte on its test
// corpus and on fuzzed input, including its quirks: flag words are read
// byte by byte (bytes 0x85 and 0xA0 separate them and bytes of 0x80 and
// above are taken as Latin-1), and [Lexer.ExpandWords] drops the part of a
// word written before a ${...} modifier form. Two things differ: error
// lines of parser directives name the directive's own line, and COPY
// --chmod and EXPOSE are checked when the file is parsed rather than when
// it is built.
//
// # When not to use it
//
// This package reads Dockerfiles; it does not build them (the root
// package does). It does not fetch "# syntax=" frontends: a Dockerfile
// written for a custom frontend may mean something else.
//
// # A worked flow
//
//	f, err := dockerfile.Parse(r)                       // *ParseError on a bad file
//	p, err := f.Plan(&dockerfile.BuildOptions{Target: "app", Args: buildArgs})
//	for _, st := range p.Order {                         // dependencies first
//		fmt.Println(st.Name, p.Bases[st.Index])
//	}
//	err = p.Walk(func(st *dockerfile.Stage, ins dockerfile.Instruction) error {
//		switch c := ins.(type) {                          // expanded copies
//		case *dockerfile.Copy:
//			// c.Sources, c.Dest, c.From ...
//		case *dockerfile.Run:
//			// c.Args, c.Mounts ...
//		}
//		return nil
//	})
//	ignore, _, err := dockerfile.LoadIgnore(ctx, contextDir, "Dockerfile")
//	if ignore.Matches("node_modules/x.js") { /* leave it out of the context */ }
package dockerfile
