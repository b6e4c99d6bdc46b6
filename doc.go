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
// # Containers
//
// A [Container] is shaped like [os/exec.Cmd]: fill in its exported fields
// (Args, Env, Dir, User, Hostname, RootFS or an Image, Resources, Network,
// Stdin/Stdout/Stderr, TTY, ...) and call Start and Wait, or Run. Its zero
// value is safe, not merely valid: Share lists the namespaces shared with the
// host, so zero means every namespace is new; the defaults are Docker's (14
// capabilities, masked and read-only /proc paths, a read-only /sys, a
// seccomp allowlist, no_new_privs, RLIMIT_NOFILE 1024, the device allowlist
// where a devices cgroup exists). A Container is single-use.
//
// The life of a container: Start makes its cgroup (/berth/ID by default)
// and its process, in one of two ways. The direct start (an attached
// container without a user namespace or terminal, on Linux 6.18 or later)
// runs no second Go program: a locked OS thread of the starting program
// makes the mount, UTS, IPC and network namespaces, moves itself into the
// cgroup on v1, sets up the root filesystem, and forks the container's
// process into a new PID namespace (on cgroup v2 straight into the
// cgroup); while the parent attaches the network and the thread mounts the
// new /proc, the child waits, then makes its cgroup namespace, applies
// limits, capabilities, user, no_new_privs and seccomp with raw system
// calls and execs the program. Otherwise an init, this same program
// re-executed, is cloned into the new namespaces, and while it waits the
// parent joins it to the cgroup on v1, writes its uid/gid maps and attaches
// its network; the init then sets up the root filesystem, drops privileges
// and execs the program. Either way a setup failure is an [*InitError]
// that names the stage, and the container sees only its own cgroup, as
// the root of its cgroup namespace. When the program exits, its owner (the
// starting program, or for a detached container the monitor process)
// records the exit status, kills and deletes the cgroup and detaches the
// network; Delete removes the snapshot and the state. [GC] and
// [Runtime.GC] remove what a crashed program left behind. An OOM kill
// surfaces as [ErrOOMKilled] from Wait and in [State].OOMKilled.
//
// Detached containers (Detach set) are children of one small monitor process
// per state directory, so the starting program may exit; [Load] and [List]
// find them again from any process. [Container.Exec] starts another process
// in a running container by joining its namespaces; in a container with a
// user namespace, the exec'd process keeps the mapped host IDs and no
// capabilities, since Go cannot join a user namespace.
//
// # Runtime, images and builds
//
// [Open] returns a [Runtime] that owns one root directory: ROOT/images (an
// [ImageStore], itself an OCI image layout whose index.json names the
// images), ROOT/snapshots (unpacked images and the containers' snapshots,
// overlay or copy) and ROOT/ipam (the bridge's address leases), plus a
// state directory for its containers (/run/berth by default). A container
// made with [Runtime.NewContainer] runs on a snapshot of its image (a
// container snapshot "berth-container-ID" prepared on the image's chain ID),
// so many containers share one unpacked image. Network modes are none
// (loopback only), host, and bridge: a veth on the Runtime's bridge (berth0,
// 10.87.0.0/16 by default) in the host network namespace, with an address
// lease, published ports (a userland proxy by default, nftables DNAT as an
// option), and hosts, resolv.conf and hostname files; containers on one
// bridge find each other by name. Berth sets up no outbound NAT and no
// multi-host networking.
//
// [ImageStore] imports and exports OCI layouts, oci-archives,
// docker-archives and rootfs tarballs; [Image.Unpack] applies layers into
// snapshots named by chain ID. [Build] turns a Dockerfile and a context
// directory into an image: each step is cached under a key made of its
// parent's chain ID, the expanded instruction and the digests of the files
// it reads, so a rebuild with nothing changed is only lookups, and the same
// inputs give the same image digest.
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
// Go cannot run ordinary code between fork and exec, so where the direct
// start does not apply (detached containers, user namespaces, terminals,
// Exec, older kernels) a container's init is this same program, executed
// again (sealed, so that the container cannot write to it) inside the new
// namespaces. Every program that starts containers calls [Dispatch] (or
// [Init]) first in main, and in TestMain for tests; in the re-executed
// roles it runs the role and never returns to the program's own main.
package berth
