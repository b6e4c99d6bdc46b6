// Package berth is a pure-Go SDK for building container tooling: the pieces
// a container engine is made of, as independent packages that a Go program
// composes in-process, with no daemon, no cgo and no other binary.
//
// # The packages
//
//   - [github.com/berthlabs/berth/namespaces]: Linux namespaces as handles
//     (open, pin, compare, run a function inside a network, UTS or IPC
//     namespace), uid/gid maps, the re-exec mechanism that lets a Go
//     program run its own code inside new namespaces (Register, Dispatch,
//     Command), and the root filesystem setup done there (mounts, /dev,
//     masked and read-only paths, pivot_root).
//   - [github.com/berthlabs/berth/cgroups]: one API over cgroup v1 and v2:
//     create a group, set limits (memory, CPU, cpuset, I/O, pids, devices),
//     read statistics, wait for OOM events, freeze, kill and delete.
//   - [github.com/berthlabs/berth/layers]: image content and filesystems: a
//     digest-verified content store, OCI image layouts, snapshotters
//     (overlay and copy) that describe mounts as data, and the secure
//     extraction and creation of layer tarballs.
//   - [github.com/berthlabs/berth/dockerfile]: a Dockerfile front end that
//     needs only the standard library and builds on any OS: the parser,
//     typed instructions, stages, variable expansion and .dockerignore.
//   - [github.com/berthlabs/berth/netconfig]: container networking over
//     netlink: bridges, veth pairs, addresses and routes, a file-backed
//     IPAM, published ports, and hosts/resolv.conf content.
//
// None of the five imports another or this package, so each can be used on
// its own. This package composes them into containers and images; anything
// it does can also be done with the packages directly.
//
// # Vocabulary
//
// These words mean the same thing in every package:
//
//   - A snapshot key names an active (writable, uncommitted) snapshot; a
//     snapshot name names a committed, read-only one. Prepare takes a key
//     and a parent name; Commit turns a key into a name.
//   - A digest is the content address of a blob as stored ("sha256:..." of
//     the bytes, compressed or not). A diffID is the digest of a layer's
//     uncompressed tar. A chainID names a stack of layers: the chainID of
//     one layer is its diffID, and of a stack it is
//     sha256(parentChainID + " " + diffID).
//   - A path is a path on the host. An unsafePath is a path inside a
//     container's root filesystem, chosen by an untrusted image or user; it
//     is only ever resolved inside that root, never by plain string joining,
//     so that symlinks and ".." cannot lead out of it.
//
// # Privileges
//
// Parsing Dockerfiles, the content store, the copy snapshotter, applying
// and diffing layers into directories you own, and cgroup code pointed at a
// fake tree work as any user. Creating namespaces other than a user
// namespace, mounting (the overlay snapshotter, a container's rootfs),
// creating cgroups, creating links in the host's network namespace and
// running containers need root (CAP_SYS_ADMIN, CAP_NET_ADMIN).
//
// # Re-execution
//
// Go cannot run code between fork and exec, so a container's init is this
// same program, executed again (from a sealed copy) inside the new
// namespaces. Every program that starts containers calls [Dispatch] (or
// [Init]) first in main, and in TestMain for tests; in the re-executed
// roles it runs the role and never returns to the program's own main.
package berth
