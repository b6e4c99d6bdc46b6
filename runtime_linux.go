package berth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/layers"
	"github.com/berthlabs/berth/netconfig"
)

// Open opens the runtime rooted at root ("" means [DefaultRoot]),
// creating its directories (mode 0700) and image store if need be. It
// changes nothing on the network until the first bridge-mode container
// starts, which creates the bridge (see [WithBridge]) in the host network
// namespace. Errors wrap fs.ErrInvalid for bad options.
func Open(root string, opts ...RuntimeOption) (*Runtime, error) {
	cfg, err := newRuntimeConfig(opts)
	if err != nil {
		return nil, err
	}
	if root == "" {
		root = DefaultRoot
	}
	if root, err = filepath.Abs(root); err != nil {
		return nil, fmt.Errorf("opening runtime %q: %w", root, err)
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("opening runtime %q: %w", root, err)
	}
	store, err := openStore(cfg.stateDir)
	if err != nil {
		return nil, err
	}
	rt := &Runtime{root: root, stateDir: store.dir, hostNetNS: cfg.hostNetNS, portMode: cfg.portMode, subnet: cfg.subnet}
	rt.bridge = netconfig.Bridge{Name: cfg.bridge, Addresses: []netip.Prefix{netip.PrefixFrom(cfg.subnet.Addr().Next(), cfg.subnet.Bits())}}
	if rt.images, err = OpenImageStore(context.Background(), filepath.Join(root, "images")); err != nil {
		return nil, fmt.Errorf("opening runtime %q: %w", root, err)
	}
	if rt.ipam, err = netconfig.NewIPAM(filepath.Join(root, "ipam")); err != nil {
		return nil, fmt.Errorf("opening runtime %q: %w", root, err)
	}
	kind := cfg.snapshotter
	if kind == "" {
		kind = chooseSnapshotter(root)
	}
	rt.snRef = SnapshotRef{Snapshotter: kind, Root: filepath.Join(root, "snapshots", kind)}
	if rt.sn, err = openSnapshotter(rt.snRef); err != nil {
		return nil, fmt.Errorf("opening runtime %q: %w", root, err)
	}
	return rt, nil
}

// overlayMagic is OVERLAYFS_SUPER_MAGIC.
const overlayMagic = 0x794c7630

// chooseSnapshotter returns "overlay" where overlay mounts can work for
// root, "copy" elsewhere.
func chooseSnapshotter(root string) string {
	if os.Geteuid() != 0 {
		return "copy"
	}
	data, err := os.ReadFile("/proc/filesystems")
	if err != nil || !bytes.Contains(data, []byte("\toverlay\n")) {
		return "copy"
	}
	var st unix.Statfs_t
	if unix.Statfs(root, &st) != nil || st.Type == overlayMagic {
		return "copy"
	}
	return "overlay"
}

func openSnapshotter(ref SnapshotRef) (layers.Snapshotter, error) {
	switch ref.Snapshotter {
	case "overlay":
		return layers.NewOverlay(ref.Root)
	case "copy":
		return layers.NewCopy(ref.Root)
	}
	return nil, fmt.Errorf("snapshotter %q: %w", ref.Snapshotter, fs.ErrInvalid)
}

// Close releases the snapshotter's files. Containers keep running; the
// Runtime is unusable afterwards.
func (rt *Runtime) Close() error { return rt.sn.Close() }

// NewContainer returns a Container of this runtime: its StateDir is the
// runtime's, it can use [NetworkBridge], and, with img not nil, it runs on
// a snapshot of img (see [Container.Image]) with the image's defaults
// filled in: Args from its entrypoint and command, Env, Dir and User from
// its config. Change any field before Start; to run another command with
// the image's entrypoint, append to Config().Config.Entrypoint yourself.
func (rt *Runtime) NewContainer(img *Image) *Container {
	c := &Container{StateDir: rt.stateDir, Image: img, rt: rt}
	if img == nil {
		return c
	}
	cfg := img.Config().Config
	c.Args = append(slices.Clone(cfg.Entrypoint), cfg.Cmd...)
	c.Env, c.Dir, c.User = slices.Clone(cfg.Env), cfg.WorkingDir, cfg.User
	return c
}

// Load finds the container id in the runtime's state directory, as
// [Load] does, as a Container of this runtime.
func (rt *Runtime) Load(ctx context.Context, id string) (*Container, error) {
	c, err := Load(ctx, rt.stateDir, id)
	if err != nil {
		return nil, err
	}
	c.rt = rt
	return c, nil
}

// List returns the state of every container in the runtime's state
// directory, as [List] does.
func (rt *Runtime) List(ctx context.Context) ([]*State, error) { return List(ctx, rt.stateDir) }

// ensureBridge creates the IPAM pool and the bridge, once per Runtime
// (both steps are idempotent, also across processes).
func (rt *Runtime) ensureBridge(ctx context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.bridgeReady {
		return nil
	}
	_, err := rt.ipam.CreatePool(ctx, netconfig.Pool{Name: rt.bridge.Name, Subnets: []netconfig.Subnet{{Prefix: rt.subnet}}})
	if err != nil {
		return fmt.Errorf("creating pool of bridge %s: %w", rt.bridge.Name, err)
	}
	hostNS, err := openNetNS(rt.hostNetNS)
	if err != nil {
		return err
	}
	if hostNS != nil {
		defer hostNS.Close()
	}
	h, err := netconfig.Open(hostNS)
	if err != nil {
		return fmt.Errorf("creating bridge %s: %w", rt.bridge.Name, err)
	}
	defer h.Close()
	if _, err := h.AddBridge(rt.bridge); err != nil {
		return fmt.Errorf("creating bridge %s: %w", rt.bridge.Name, err)
	}
	rt.bridgeReady = true
	return nil
}

// containerSnapshotKey is the key of a container's snapshot.
func containerSnapshotKey(id string) string { return "berth-container-" + id }

// prepareSnapshot unpacks img if need be and prepares the container's
// snapshot on it, recording it in st.
func (rt *Runtime) prepareSnapshot(ctx context.Context, st *State, img *Image) error {
	chainID, err := img.Unpack(ctx, rt.sn)
	if err != nil {
		return fmt.Errorf("unpacking image %s: %w", img.Digest(), err)
	}
	key := containerSnapshotKey(st.ID)
	mounts, err := rt.sn.Prepare(ctx, key, chainID, layers.WithLabels(map[string]string{SnapshotLabelContainer: st.ID}))
	if err != nil {
		return fmt.Errorf("preparing snapshot %q: %w", key, err)
	}
	ref := rt.snRef
	ref.Key = key
	st.Snapshot, st.RootFSMounts, st.Image = &ref, mounts, img.Digest().String()
	return nil
}

// removeSnapshot removes a container's snapshot, from any process: with
// rt's snapshotter when it holds it (rt may be nil), else with one opened
// for the purpose. A snapshot already gone is not an error.
func (rt *Runtime) removeSnapshot(ctx context.Context, ref *SnapshotRef) error {
	if ref == nil {
		return nil
	}
	sn := layers.Snapshotter(nil)
	if rt != nil && rt.snRef.Snapshotter == ref.Snapshotter && rt.snRef.Root == ref.Root {
		sn = rt.sn
	} else {
		var err error
		if sn, err = openSnapshotter(*ref); err != nil {
			return fmt.Errorf("removing snapshot %q: %w", ref.Key, err)
		}
		defer sn.Close()
	}
	if err := sn.Remove(ctx, ref.Key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing snapshot %q: %w", ref.Key, err)
	}
	return nil
}

// snapshotGrace is how old a container snapshot without state must be
// before GC removes it: its container may be starting.
const snapshotGrace = time.Minute

// GC cleans up after crashed programs: it removes the containers whose
// owner is gone, as [GC] does (processes, cgroups, network, snapshots,
// state), then the container snapshots that no container state refers to
// (older than a minute, so that containers being started keep theirs), and
// reclaims the bridge's leases of dead processes. It returns the IDs of
// the containers removed. Images and their unpacked layers stay; see
// [ImageStore.GC].
func (rt *Runtime) GC(ctx context.Context) ([]string, error) {
	removed, err := gc(ctx, rt.stateDir, rt)
	errs := []error{err}
	s, serr := openStore(rt.stateDir)
	if serr != nil {
		return removed, errors.Join(err, serr)
	}
	errs = append(errs, rt.gcSnapshots(ctx, s))
	if _, perr := rt.ipam.Pool(ctx, rt.bridge.Name); perr == nil {
		_, rerr := rt.ipam.Reclaim(ctx, rt.bridge.Name)
		errs = append(errs, rerr)
	}
	return removed, errors.Join(errs...)
}

func (rt *Runtime) gcSnapshots(ctx context.Context, s *store) error {
	var orphans []string
	err := rt.sn.Walk(ctx, func(ctx context.Context, info layers.SnapshotInfo) error {
		id, ok := info.Labels[SnapshotLabelContainer]
		if !ok || !strings.HasPrefix(info.Name, "berth-container-") || time.Since(info.Created) < snapshotGrace {
			return nil
		}
		if _, err := os.Stat(s.containerDir(id)); errors.Is(err, fs.ErrNotExist) {
			orphans = append(orphans, info.Name)
		}
		return nil
	})
	errs := []error{err}
	for _, key := range orphans {
		if err := rt.sn.Remove(ctx, key); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing snapshot %q: %w", key, err))
		}
	}
	return errors.Join(errs...)
}
