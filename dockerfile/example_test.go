package dockerfile_test

import (
	"fmt"
	"strings"

	"github.com/berthlabs/berth/dockerfile"
)

// Parse a multi-stage Dockerfile, plan the build of one target and walk
// its stages in build order.
func Example() {
	src := `ARG GO=1.26
FROM golang:${GO} AS build
COPY . /src
RUN --mount=type=cache,target=/root/.cache go build -o /app ./cmd/app
FROM alpine AS debug
FROM scratch AS app
COPY --from=build /app /app
ENTRYPOINT ["/app"]
`
	f, err := dockerfile.Parse(strings.NewReader(src))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := f.Plan(&dockerfile.BuildOptions{Target: "app", Args: map[string]string{"GO": "1.25"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range p.Order {
		fmt.Printf("stage %d %q from %s\n", st.Index, st.Name, p.Bases[st.Index])
		for _, ins := range st.Instructions {
			fmt.Printf("  line %d: %s\n", ins.Range().Start.Line, ins.Keyword())
		}
	}
	// Output:
	// stage 0 "build" from golang:1.25
	//   line 3: COPY
	//   line 4: RUN
	// stage 2 "app" from scratch
	//   line 7: COPY
	//   line 8: ENTRYPOINT
}

// Print the parse tree in BuildKit's format.
func ExampleSyntax_Dump() {
	syn, err := dockerfile.ParseSyntaxString("FROM alpine\nCOPY --from=build a b\nRUN <<EOF\necho hi\nEOF\n")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(syn.Dump())
	// Output:
	// (from "alpine")
	// (copy ["--from=build"] "a" "b")
	// (run "<<EOF")
}

// Expand a word the way ENV, COPY or WORKDIR expand it.
func ExampleExpand() {
	env := dockerfile.Vars{"VERSION": "1.2.3", "FILE": "app.tar.gz"}
	for _, w := range []string{
		"release-${VERSION}",
		"${VERSION%%.*}",
		"${FILE%.tar.gz}",
		"${MISSING:-default}",
		`'$VERSION' "$VERSION"`,
	} {
		out, err := dockerfile.Expand(w, env)
		fmt.Printf("%s -> %s %v\n", w, out, err)
	}
	// Output:
	// release-${VERSION} -> release-1.2.3 <nil>
	// ${VERSION%%.*} -> 1 <nil>
	// ${FILE%.tar.gz} -> app <nil>
	// ${MISSING:-default} -> default <nil>
	// '$VERSION' "$VERSION" -> $VERSION 1.2.3 <nil>
}

// Match paths against .dockerignore patterns.
func ExampleIgnoreMatcher() {
	patterns, err := dockerfile.ReadIgnore(strings.NewReader("# build output\n**/*.log\nnode_modules\n!keep.log\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := dockerfile.NewIgnoreMatcher(patterns)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range []string{"app.log", "logs/a.log", "keep.log", "node_modules/x/y.js", "src/main.go"} {
		fmt.Println(p, m.Matches(p))
	}
	// Output:
	// app.log true
	// logs/a.log true
	// keep.log false
	// node_modules/x/y.js true
	// src/main.go false
}

// Report an error with its line, in BuildKit's words.
func ExampleParseError() {
	_, err := dockerfile.ParseString("FROM alpine\nCOPY --form=build /a /b\n")
	fmt.Println(err)
	// Output:
	// dockerfile parse error on line 2: unknown flag: --form (did you mean from?)
}
