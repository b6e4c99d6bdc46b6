package layers

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
)

// Copy is the [Snapshotter] that needs no overlayfs: an active snapshot
// is a full copy of its parent's tree, and committing keeps it as is.
// Use it rootless, nested in a container, or on filesystems overlayfs
// refuses. It costs a copy per Prepare and the disk of every full tree;
// views bind the parent read-only without copying. Mounts are bind
// mounts; an unprivileged caller uses the Source directory directly.
// Safe for concurrent use, also by several processes sharing the root.
type Copy struct{ e *engine }

// NewCopy opens (creating if needed) the copy snapshotter whose state
// lives under root, and removes what crashed operations left there.
func NewCopy(root string) (*Copy, error) {
	e, err := openEngine(context.Background(), root, copyDriver{})
	if err != nil {
		return nil, err
	}
	return &Copy{e}, nil
}

type copyDriver struct{}

func (copyDriver) populate(ctx context.Context, dir string, kind Kind, parents []string) error {
	fs := filepath.Join(dir, "fs")
	if kind == KindView || len(parents) == 0 {
		return os.Mkdir(fs, 0o755)
	}
	return copyTree(ctx, filepath.Join(parents[0], "fs"), fs)
}

func (copyDriver) mounts(dir string, kind Kind, parents []string) []Mount {
	if kind == KindView && len(parents) > 0 {
		return []Mount{bindMount(filepath.Join(parents[0], "fs"), true)}
	}
	return []Mount{bindMount(filepath.Join(dir, "fs"), kind == KindView)}
}

// Diff writes the changes of the active snapshot key against its parent
// as a layer tar to w and returns the diffID, comparing the two trees;
// nothing needs to be mounted.
func (c *Copy) Diff(ctx context.Context, key string, w io.Writer, opts *DiffOptions) (digest.Digest, error) {
	m, err := c.e.load()
	if err != nil {
		return "", fmt.Errorf("diffing snapshot %q: %w", key, err)
	}
	r, ok := m.Snapshots[key]
	if !ok || r.Kind != KindActive {
		return "", fmt.Errorf("diffing snapshot %q: no active snapshot: %w", key, errInvalidKey)
	}
	lower := ""
	if r.Parent != "" {
		lower = filepath.Join(c.e.dir(m.Snapshots[r.Parent].ID), "fs")
	}
	return Diff(ctx, lower, filepath.Join(c.e.dir(r.ID), "fs"), w, opts)
}

// ApplyLayer extracts a layer into the active snapshot key, a plain
// directory tree, so whiteouts delete and nothing needs mounting; with
// opts.Unprivileged it works without root. It returns the diffID.
func (c *Copy) ApplyLayer(ctx context.Context, key string, r io.Reader, opts *ApplyOptions) (digest.Digest, error) {
	dir, _, err := c.e.activeDir(key)
	if err != nil {
		return "", fmt.Errorf("applying layer to snapshot %q: %w", key, err)
	}
	a := ApplyOptions{}
	if opts != nil {
		a = *opts
	}
	a.OverlayWhiteouts = false
	return Apply(ctx, dir, r, &a)
}
