// Package namespaces creates, opens, pins and joins Linux namespaces,
// writes user-namespace ID maps, re-executes the running binary as a
// registered entrypoint inside new namespaces, and sets up a container's
// root file system inside a new mount namespace. It is the lowest layer of
// Berth's runtime: the root package's Container composes it with cgroups
// and netconfig, and everything Container does with namespaces can be done
// with this package directly.
//
// # Vocabulary
//
//   - A [Kind] is a set of namespace kinds, as CLONE_NEW* bits: Mount|Net.
//   - A [Handle] is an open namespace file (/proc/PID/ns/net, a pin).
//   - To pin is to bind-mount a namespace file onto a path so that the
//     namespace outlives its processes ([Pin], [Unpin]).
//   - An entrypoint is a named function the binary runs when re-executed
//     ([Register], [Dispatch], [Command]); its argv[0] starts with
//     [ReservedPrefix], "berth-init".
//   - The rootfs is the host directory that becomes a container's "/"
//     ([RootFS]). A path is a host path; an unsafePath is a path inside a
//     rootfs, resolved with the rootfs as "/" ([SecureJoin], [OpenInRoot]).
//
// # Privileges and kernel
//
// Linux only; elsewhere every function returns an error wrapping
// errors.ErrUnsupported. Creating namespaces other than user namespaces,
// [Handle.Do], [Pin] and [RootFS.Setup] need CAP_SYS_ADMIN (root, or root
// of a user namespace created with them). [WriteIDMaps] needs root, or
// newuidmap/newgidmap, or maps only the caller's own ID. Kernel 5.6 or
// later is best (openat2 for path resolution; older kernels use a
// per-component walk); 5.12 for recursive read-only bind mounts; 6.13 for
// [Command] to run the binary through a private read-only overlay instead
// of copying it into a sealed memfd. Nothing here uses cgo.
//
// # Threads
//
// Go runs goroutines on many OS threads, and namespaces belong to threads.
// Mount and user namespaces cannot be joined by a multi-threaded process,
// and a PID namespace only applies to children; so the way into new
// namespaces is to start a process in them, with [Command], which
// re-executes the binary through a view that cannot be written to
// (CVE-2019-5736). [Handle.Do]
// runs a function in a network, UTS or IPC namespace on one locked thread
// and never lets a thread in the wrong namespace return to the scheduler.
//
// A locked thread that never returns to the scheduler may also unshare
// the mount, UTS, IPC and network namespaces itself and run
// [RootFS.Setup] there, as the root package's direct start does. Its
// children share those namespaces; for a new PID namespace, whose /proc
// can only be mounted once its first process exists, set
// [RootFS.DeferProc] and call [RootFS.MountProc] after the fork (Linux
// 6.18, [ProcPIDNamespaceSupported]).
//
// # A container start, as a flow
//
//	// in the parent (main calls Dispatch first; an init registered "init"):
//	cmd, err := namespaces.Command(ctx, "init", namespaces.All)
//	cmd.ExtraFiles = []*os.File{configR, reportW} // fd 3, fd 4
//	err = cmd.Start()
//	// host side while the child waits on fd 3: cgroup, veth, ID maps ...
//	netns, err := namespaces.OpenPID(cmd.Process.Pid, namespaces.Net)
//
//	// in the child, inside the namespaces, on the locked main thread:
//	r := namespaces.RootFS{Path: rootfs, Mounts: namespaces.DefaultMounts(),
//		Devices: namespaces.DefaultDevices(), MaskedPaths: namespaces.DefaultMaskedPaths(),
//		ReadOnlyPaths: namespaces.DefaultReadOnlyPaths()}
//	err := r.Setup() // mounts, /dev, masks, pivot_root
//	// hostname, capabilities, no_new_privs, rlimits, user, then exec
//
// # When not to use it
//
// To run a whole container, use the root package's Container, which adds
// the init protocol, cgroups, networking, capabilities and state. To
// configure network interfaces in a namespace, use netconfig, which binds
// a netlink handle to the namespace file once instead of switching
// threads. RootFS.Setup does not remove the mount-target directories it
// creates in the rootfs directory, and leaves its mounts in place when it
// fails: run it in a process that exits on failure.
package namespaces
