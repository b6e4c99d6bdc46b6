package namespaces_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/namespaces"
)

func init() {
	// Entrypoints are registered in init, so that parent and child agree.
	namespaces.Register("example-hello", func(ctx context.Context) error {
		fmt.Println("hello from", os.Args[0], "with", os.Args[1:])
		return nil
	})
}

func ExampleKind_String() {
	fmt.Println(namespaces.Net | namespaces.Mount)
	fmt.Println(namespaces.All)
	fmt.Println(namespaces.Kind(0))
	// Output:
	// mount|net
	// mount|uts|ipc|pid|net|cgroup
	// none
}

// ExampleCommand re-executes this binary as the entrypoint "example-hello".
// The test binary's TestMain calls Dispatch, which runs it in the child. Kind
// 0 asks for no new namespaces, so this runs without privileges; a
// container init would pass namespaces.All.
func ExampleCommand() {
	cmd, err := namespaces.Command(context.Background(), "example-hello", 0, "a", "b")
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := cmd.Output()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(out))
	// Output:
	// hello from berth-init:example-hello with [a b]
}

// ExampleOpenInRoot reads a file through a symlink that tries to leave the
// rootfs: it is resolved inside it.
func ExampleOpenInRoot() {
	root, _ := os.MkdirTemp("", "rootfs")
	defer os.RemoveAll(root)
	_ = os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	_ = os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("inside\n"), 0o644)
	_ = os.Symlink("../../../../../etc", filepath.Join(root, "config"))

	f, err := namespaces.OpenInRoot(root, "/config/hostname", unix.O_RDONLY)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	fmt.Print(string(data))

	joined, _ := namespaces.SecureJoin(root, "/config/../../../etc/passwd")
	fmt.Println(strings.TrimPrefix(joined, root))
	// Output:
	// inside
	// /etc/passwd
}

func ExampleDefaultMounts() {
	for _, m := range namespaces.DefaultMounts() {
		fmt.Println(m.Target, m.Type, strings.Join(m.Options, ","))
	}
	// Output:
	// /proc proc nosuid,noexec,nodev
	// /dev tmpfs nosuid,strictatime,mode=755,size=65536k
	// /dev/pts devpts nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5
	// /dev/shm tmpfs nosuid,noexec,nodev,mode=1777,size=65536k
	// /dev/mqueue mqueue nosuid,noexec,nodev
	// /sys sysfs ro,nosuid,noexec,nodev
	// /sys/fs/cgroup cgroup ro,nosuid,noexec,nodev,relatime
}

// ExampleRootFS_Setup is the child's side of a container start: an
// entrypoint, started by Command with namespaces.All, sets up its root
// file system with Docker's defaults plus a read-only bind mount, then
// would set the hostname, drop privileges and exec the payload. It needs
// root, so it is not run here.
func ExampleRootFS_Setup() {
	r := namespaces.RootFS{
		Path:          "/var/lib/berth/containers/c1/rootfs",
		Mounts:        namespaces.DefaultMounts(),
		Devices:       namespaces.DefaultDevices(),
		MaskedPaths:   namespaces.DefaultMaskedPaths(),
		ReadOnlyPaths: namespaces.DefaultReadOnlyPaths(),
	}
	r.Mounts = append(r.Mounts, namespaces.MountSpec{
		Source: "/srv/data", Target: "/data", Options: []string{"rbind", "ro", "nosuid", "nodev"},
	})
	if err := r.Setup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	// Now "/" is the rootfs: unix.Sethostname, capabilities, unix.Exec ...
}

// ExampleHandle_Do lists the interfaces of another process's network
// namespace. It needs CAP_SYS_ADMIN, so it is not run here.
func ExampleHandle_Do() {
	h, err := namespaces.OpenPID(1234, namespaces.Net)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	err = h.Do(func() error {
		// net.Interfaces(), netlink calls, listening sockets ... all in
		// the namespace of PID 1234, on this goroutine only.
		return nil
	})
	fmt.Println(err)
}
