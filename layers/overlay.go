package layers

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
)

// Overlay is the default [Snapshotter]: each snapshot is a directory
// holding only its own changes, and an active snapshot mounts as an
// overlayfs with its committed ancestors as lower dirs. Mounting needs
// root (CAP_SYS_ADMIN) and a root directory on a filesystem overlayfs
// accepts as upper (ext4, xfs, btrfs, tmpfs; not overlayfs itself). Safe
// for concurrent use, also by several processes sharing the root.
type Overlay struct{ e *engine }

// OverlayOption configures [NewOverlay].
type OverlayOption func(*overlayConfig)

type overlayConfig struct{ mountOptions []string }

// WithMountOptions adds overlayfs mount options (for example "volatile",
// which skips syncs for throwaway containers) to every overlay mount.
func WithMountOptions(opts ...string) OverlayOption {
	return func(c *overlayConfig) { c.mountOptions = append(c.mountOptions, opts...) }
}

// NewOverlay opens (creating if needed) the overlay snapshotter whose
// state lives under root, and removes what crashed operations left there.
// Snapshot paths are short (root/snapshots/<n>/fs) so that deep images
// stay under the kernel's mount option limit as long as possible;
// [MountAll] handles deeper ones.
func NewOverlay(root string, opts ...OverlayOption) (*Overlay, error) {
	var c overlayConfig
	for _, o := range opts {
		o(&c)
	}
	e, err := openEngine(context.Background(), root, overlayDriver{c})
	if err != nil {
		return nil, err
	}
	return &Overlay{e}, nil
}

type overlayDriver struct{ c overlayConfig }

func (d overlayDriver) populate(ctx context.Context, dir string, kind Kind, parents []string) error {
	if err := os.Mkdir(filepath.Join(dir, "fs"), 0o755); err != nil {
		return err
	}
	if kind == KindActive && len(parents) > 0 {
		return os.Mkdir(filepath.Join(dir, "work"), 0o700)
	}
	return nil
}

func (d overlayDriver) mounts(dir string, kind Kind, parents []string) []Mount {
	fs := filepath.Join(dir, "fs")
	switch {
	case len(parents) == 0:
		return []Mount{bindMount(fs, kind == KindView)}
	case kind == KindView && len(parents) == 1:
		return []Mount{bindMount(filepath.Join(parents[0], "fs"), true)}
	}
	lower := ""
	for i, p := range parents {
		if i > 0 {
			lower += ":"
		}
		lower += filepath.Join(p, "fs")
	}
	opts := []string{"index=off"}
	if kind == KindActive {
		opts = append(opts, "redirect_dir=off", "metacopy=off",
			"workdir="+filepath.Join(dir, "work"), "upperdir="+fs)
	}
	opts = append(opts, d.c.mountOptions...)
	opts = append(opts, "lowerdir="+lower)
	return []Mount{{Type: "overlay", Source: "overlay", Options: opts}}
}

func bindMount(src string, ro bool) Mount {
	opt := "rw"
	if ro {
		opt = "ro"
	}
	return Mount{Type: "bind", Source: src, Options: []string{"rbind", opt}}
}

// Diff writes the changes of the active snapshot key as a layer tar to w,
// reading its upper dir directly ([DiffOptions.OverlayUpper]; needs root
// for the trusted.overlay xattrs), and returns the diffID. The snapshot
// need not be mounted. opts.OverlayUpper is set for the caller.
func (o *Overlay) Diff(ctx context.Context, key string, w io.Writer, opts *DiffOptions) (digest.Digest, error) {
	ms, err := o.e.mounts(ctx, key)
	if err != nil {
		return "", err
	}
	upper := UpperDir(ms)
	if upper == "" {
		return "", fmt.Errorf("diffing snapshot %q: not active: %w", key, errInvalidKey)
	}
	o2 := DiffOptions{}
	if opts != nil {
		o2 = *opts
	}
	o2.OverlayUpper = true
	return Diff(ctx, "", upper, w, &o2)
}

// ApplyLayer extracts a layer into the active snapshot key without
// mounting it, as image unpacking does layer by layer: straight into its
// upper dir, with whiteouts in overlay form (so it needs root). Paths are
// resolved within this layer only: a layer that writes through a symlink
// or hardlinks to a file that only a parent snapshot holds fails or
// lands differently than on a mounted tree; layers made by [Diff] never
// do that. opts.OverlayWhiteouts is set for the caller. It returns the
// layer's diffID.
func (o *Overlay) ApplyLayer(ctx context.Context, key string, r io.Reader, opts *ApplyOptions) (digest.Digest, error) {
	dir, hasParent, err := o.e.activeDir(key)
	if err != nil {
		return "", fmt.Errorf("applying layer to snapshot %q: %w", key, err)
	}
	a := ApplyOptions{}
	if opts != nil {
		a = *opts
	}
	a.OverlayWhiteouts = hasParent
	return Apply(ctx, dir, r, &a)
}
