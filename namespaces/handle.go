package namespaces

import (
	"os"
)

// Handle is an open namespace file, such as /proc/PID/ns/net or a pinned
// copy of one. It keeps the namespace alive while it is open. Create one
// with [Open], [OpenPID] or [Current]; the zero Handle is not usable.
//
// A Handle is safe for concurrent use, except that Close must not race
// with other methods.
type Handle struct {
	f    *os.File
	kind Kind
}

// File returns the namespace file, for [setns(2)] or for packages that take
// an *os.File (netconfig.Open). The Handle keeps ownership: do not close
// it, and do not use it after [Handle.Close].
//
// [setns(2)]: https://man7.org/linux/man-pages/man2/setns.2.html
func (h *Handle) File() *os.File { return h.f }

// Kind returns the kind of the namespace: exactly one of the [Kind]
// constants.
func (h *Handle) Kind() Kind { return h.kind }

// Close closes the namespace file. The namespace itself lives on while a
// process, a pin ([Pin]) or another open file refers to it.
func (h *Handle) Close() error { return h.f.Close() }

// String returns the kind and the file's name, such as "net /proc/1/ns/net".
func (h *Handle) String() string { return h.kind.String() + " " + h.f.Name() }
