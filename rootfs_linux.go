package berth

import (
	"io/fs"
	"os"
	"path"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/namespaces"
)

// rootfsConfig is the root file system the init sets up.
type rootfsConfig = namespaces.RootFS

// rootfsConfigOf builds the container's RootFS: Docker's default mounts,
// the /etc files of its network (etc), then st.Mounts, with the default
// devices, masked and read-only paths.
func rootfsConfigOf(st *State, etc []namespaces.MountSpec) rootfsConfig {
	mounts := append(namespaces.DefaultMounts(), etc...)
	if st.Cgroup != "" {
		// The view of the container's own cgroup, bound from the host's
		// hierarchies: the same whether or not the cgroup namespace is
		// made yet.
		for i := range mounts {
			if mounts[i].Type == "cgroup" {
				mounts[i].Source = path.Join("/", st.Cgroup)
			}
		}
	}
	return namespaces.RootFS{
		Path:          st.RootFS,
		ReadOnly:      st.ReadOnlyRootFS,
		Mounts:        append(mounts, st.Mounts...),
		Devices:       namespaces.DefaultDevices(),
		MaskedPaths:   namespaces.DefaultMaskedPaths(),
		MaskSource:    maskSource(),
		ReadOnlyPaths: namespaces.DefaultReadOnlyPaths(),
	}
}

// maskSource is this process's mask source ([namespaces.NewMaskSource]),
// made on first use: the masked directories of every container it sets up,
// or has its inits set up, share its one superblock. nil where it cannot be
// made (without CAP_SYS_ADMIN): each mask then gets a tmpfs.
var maskSource = sync.OnceValue(func() *os.File {
	f, err := namespaces.NewMaskSource()
	if err != nil {
		return nil
	}
	return f
})

// setupRootFS mounts the container's file systems and pivots into them.
// The rootfs mounts (an image snapshot's overlay) come first, on the
// rootfs directory, once every mount of this new mount namespace is a
// slave, so that none of them reaches the host.
func setupRootFS(r *rootfsConfig, rootfsMounts []layers.Mount) error {
	if len(rootfsMounts) > 0 {
		if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			return &fs.PathError{Op: "mount rslave", Path: "/", Err: err}
		}
		if err := layers.MountAll(rootfsMounts, r.Path); err != nil {
			return err
		}
	}
	return r.Setup()
}
