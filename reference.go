package berth

import (
	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/internal/reference"
)

// Reference is an image reference normalised the way Docker does it:
// "busybox" is docker.io/library/busybox:latest, "user/app" is
// docker.io/user/app:latest, and "localhost:5000/x" keeps its registry.
// The zero value is not a valid reference; make one with
// [ParseReference].
type Reference struct {
	// Domain is the registry host with an optional port: "docker.io",
	// "localhost:5000", "[::1]:5000".
	Domain string
	// Path is the repository below the domain: "library/busybox".
	Path string
	// Tag is the tag; "" only when Digest is set and no tag was given.
	Tag string
	// Digest pins the content; "" when none was given.
	Digest digest.Digest
}

// ParseReference parses an image reference: a name, optionally followed
// by ":tag" and/or "@digest". A reference with neither tag nor digest gets
// the tag "latest". The name is normalised (see [Reference]). It follows
// the grammar of Docker's distribution project: path components of
// lower-case letters and digits joined by ".", "_", "__" or dashes; a tag
// of at most 128 letters, digits, "_", "." and "-" not starting with "."
// or "-"; a digest that go-digest validates; a name of at most 255
// characters, which must not be a 64-character hexadecimal string (that
// is an image ID). An invalid reference gives an error naming it and the
// reason, which wraps fs.ErrInvalid.
func ParseReference(s string) (Reference, error) {
	r, err := reference.Parse(s)
	if err != nil {
		return Reference{}, err
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = reference.DefaultTag
	}
	return Reference(r), nil
}

// Name returns the normalised repository name: "docker.io/library/busybox".
func (r Reference) Name() string { return reference.Reference(r).Name() }

// String returns the normalised reference,
// "docker.io/library/busybox:latest", with "@digest" if it has one.
func (r Reference) String() string { return reference.Reference(r).String() }

// Familiar returns the short form Docker displays: "busybox:latest",
// "user/app:v1", "localhost:5000/x:v1".
func (r Reference) Familiar() string { return reference.Reference(r).Familiar() }

// FamiliarName returns the repository in Docker's short form: "busybox",
// "user/app", "localhost:5000/x".
func (r Reference) FamiliarName() string { return reference.Reference(r).FamiliarName() }
