package berth

import "github.com/berthlabs/berth/namespaces"

// rootfsConfig is the root file system the init sets up.
type rootfsConfig = namespaces.RootFS

// rootfsConfig builds the container's RootFS: Docker's default mounts,
// devices, masked and read-only paths, then c.Mounts.
func (c *Container) rootfsConfig(st *State) rootfsConfig {
	return namespaces.RootFS{
		Path:          st.RootFS,
		ReadOnly:      st.ReadOnlyRootFS,
		Mounts:        append(namespaces.DefaultMounts(), st.Mounts...),
		Devices:       namespaces.DefaultDevices(),
		MaskedPaths:   namespaces.DefaultMaskedPaths(),
		ReadOnlyPaths: namespaces.DefaultReadOnlyPaths(),
	}
}

// setupRootFS mounts the container's file systems and pivots into them.
func setupRootFS(r *rootfsConfig) error { return r.Setup() }
