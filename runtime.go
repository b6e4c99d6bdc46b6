package berth

import (
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"
	"sync"

	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/netconfig"
)

// DefaultRoot is where a [Runtime] keeps images, snapshots and IP leases
// when [Open] is given "".
const DefaultRoot = "/var/lib/berth"

// DefaultBridge is the bridge of bridge-mode containers unless
// [WithBridge] names another.
const DefaultBridge = "berth0"

// DefaultSubnet is the subnet of [DefaultBridge] unless [WithBridge] gives
// another: 10.87.0.0/16, the bridge itself being 10.87.0.1.
var DefaultSubnet = netip.MustParsePrefix("10.87.0.0/16")

// SnapshotLabelContainer is the label a container's snapshot carries: the
// container's ID. [Runtime.GC] removes labelled snapshots whose container
// is gone.
const SnapshotLabelContainer = "berth.container"

// Runtime owns what the containers of one program (or of several programs
// sharing a root) share, under its root directory:
//
//	ROOT/images      the ImageStore (an OCI image layout)
//	ROOT/snapshots/  unpacked images and the containers' snapshots
//	                 (overlay, or copy where overlay cannot work)
//	ROOT/ipam        the IP leases of the bridge
//
// and the state directory of its containers ([DefaultStateDir] unless
// [WithStateDir]). Open it once per program with [Open]; make containers
// with [Runtime.NewContainer] and find them again with [Runtime.Load].
//
//	rt, err := berth.Open("")                  // /var/lib/berth, state in /run/berth
//	img, err := rt.Images().Get(ctx, "app:1")
//	c := rt.NewContainer(img)                  // Args, Env, Dir, User from the image
//	c.Resources = &cgroups.Resources{Memory: &cgroups.Memory{Max: &max}}
//	c.Network = &berth.Network{Mode: berth.NetworkBridge,
//		Ports: []netconfig.Port{{HostPort: 8080, ContainerPort: 80}}}
//	c.Detach = true
//	err = c.Start(ctx)                         // snapshot, cgroup, veth, lease, port
//	s, err := c.Stats(ctx)
//	err = c.Delete(ctx)                        // all of it gone
//
// The bridge is created in the host network namespace (see
// [WithHostNetNS]) when the first bridge-mode container starts, and stays
// there, like docker0. Nothing else changes the host's network: no
// forwarding or NAT rules are set up, so containers reach the bridge, each
// other and published ports, not other networks.
//
// Several Runtimes, in one process or several, may share a root and a
// state directory. A Runtime is safe for concurrent use. The zero Runtime
// is not usable.
type Runtime struct {
	root      string
	stateDir  string
	images    *ImageStore
	sn        layers.Snapshotter
	snRef     SnapshotRef // Snapshotter and Root of the containers' snapshots
	ipam      *netconfig.IPAM
	bridge    netconfig.Bridge
	subnet    netip.Prefix
	hostNetNS string
	portMode  netconfig.PortMode

	mu          sync.Mutex
	bridgeReady bool
}

// RuntimeOption configures [Open].
type RuntimeOption func(*runtimeConfig)

type runtimeConfig struct {
	stateDir    string
	hostNetNS   string
	bridge      string
	subnet      netip.Prefix
	snapshotter string
	portMode    netconfig.PortMode
}

// WithStateDir sets the directory of container state (and of the
// containers' /etc files and logs); the default is [DefaultStateDir].
func WithStateDir(dir string) RuntimeOption {
	return func(c *runtimeConfig) { c.stateDir = dir }
}

// WithHostNetNS sets the network namespace that holds the bridge and the
// published ports, as the path of a namespace file (/run/netns/NAME, a
// pinned namespace, /proc/PID/ns/net of a long-lived process). The default
// is the namespace of the process that starts each container (for a
// detached container, its monitor's). Tests use it to let a namespace of
// their own play the host.
func WithHostNetNS(path string) RuntimeOption {
	return func(c *runtimeConfig) { c.hostNetNS = path }
}

// WithBridge sets the bridge of bridge-mode containers and its subnet; the
// defaults are [DefaultBridge] and [DefaultSubnet]. The bridge gets the
// subnet's first address, leases hand out the others. The subnet must not
// overlap another subnet of the host namespace or of the root's IPAM.
func WithBridge(name string, subnet netip.Prefix) RuntimeOption {
	return func(c *runtimeConfig) { c.bridge, c.subnet = name, subnet }
}

// WithSnapshotter chooses the snapshotter for images and containers:
// "overlay" or "copy". The default, "", takes overlay when this process
// runs as root, the kernel has overlayfs and the root directory is not
// itself on overlayfs, and copy otherwise.
func WithSnapshotter(kind string) RuntimeOption {
	return func(c *runtimeConfig) { c.snapshotter = kind }
}

// WithPortMode sets how published ports are forwarded; the default is
// [netconfig.PortProxy], which touches no firewall. Proxies live in the
// process that starts the container (the monitor, for a detached one).
func WithPortMode(m netconfig.PortMode) RuntimeOption {
	return func(c *runtimeConfig) { c.portMode = m }
}

func newRuntimeConfig(opts []RuntimeOption) (runtimeConfig, error) {
	c := runtimeConfig{stateDir: DefaultStateDir, bridge: DefaultBridge, subnet: DefaultSubnet}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.snapshotter != "" && c.snapshotter != "overlay" && c.snapshotter != "copy":
		return c, fmt.Errorf("snapshotter %q: want overlay or copy: %w", c.snapshotter, fs.ErrInvalid)
	case c.bridge == "" || len(c.bridge) > 15:
		return c, fmt.Errorf("bridge name %q: want 1 to 15 bytes: %w", c.bridge, fs.ErrInvalid)
	case !c.subnet.IsValid() || c.subnet != c.subnet.Masked() || c.subnet.Bits() > c.subnet.Addr().BitLen()-2:
		return c, fmt.Errorf("bridge subnet %v: want a subnet without host bits and room for addresses: %w", c.subnet, fs.ErrInvalid)
	case c.hostNetNS != "" && !filepath.IsAbs(c.hostNetNS):
		return c, fmt.Errorf("host network namespace %q: not an absolute path: %w", c.hostNetNS, fs.ErrInvalid)
	}
	return c, nil
}

// Root returns the runtime's root directory (absolute).
func (rt *Runtime) Root() string { return rt.root }

// StateDir returns the state directory of the runtime's containers.
func (rt *Runtime) StateDir() string { return rt.stateDir }

// Images returns the runtime's image store, ROOT/images.
func (rt *Runtime) Images() *ImageStore { return rt.images }

// Snapshotter returns the snapshotter images are unpacked into and
// containers' snapshots are prepared in.
func (rt *Runtime) Snapshotter() layers.Snapshotter { return rt.sn }

// IPAM returns the allocator of the bridge's addresses, ROOT/ipam.
func (rt *Runtime) IPAM() *netconfig.IPAM { return rt.ipam }

// Bridge returns the bridge of bridge-mode containers, with its address.
func (rt *Runtime) Bridge() netconfig.Bridge { return rt.bridge }

// bridgeConfig is nil for a nil Runtime, so that containers without one
// refuse bridge mode.
func (rt *Runtime) bridgeConfig() *bridgeConfig {
	if rt == nil {
		return nil
	}
	return &bridgeConfig{name: rt.bridge.Name, ipamDir: rt.ipam.Dir(), hostNetNS: rt.hostNetNS, portMode: rt.portMode}
}
