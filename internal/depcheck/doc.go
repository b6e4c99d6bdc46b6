// Package depcheck holds the test that enforces Berth's import direction:
// the five building-block packages (namespaces, cgroups, layers, dockerfile,
// netconfig) never import one another or the root package, and dockerfile
// imports only the standard library. It has no code of its own.
package depcheck
