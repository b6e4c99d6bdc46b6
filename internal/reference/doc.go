// Package reference parses image references (names, tags and digests) with
// Docker's normalisation: "busybox" is "docker.io/library/busybox",
// "index.docker.io" is "docker.io", and a first path component is a
// registry only if it contains "." or ":", is "localhost" or has
// upper-case letters. It checks the grammar of the distribution project
// (lower-case path components, tags of at most 128 word characters,
// registries with optional ports, validated digests) and reports what is
// wrong in an [*Error] that wraps fs.ErrInvalid.
//
// The root package exposes it as berth.Reference; this package holds the
// grammar so that the store, archives and builder share one parser.
package reference
