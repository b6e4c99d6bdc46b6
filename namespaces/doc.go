// Package namespaces creates, opens, pins and joins Linux namespaces,
// writes user-namespace ID maps, re-executes the running binary as a
// registered entrypoint inside new namespaces, and sets up a container's
// root filesystem inside a new mount namespace.
package namespaces
