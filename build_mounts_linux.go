package berth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/dockerfile"
	"github.com/berthlabs/berth/namespaces"
)

// runMounts turns a RUN's --mount flags (and its heredoc script and
// /etc/hosts) into container mounts; release undoes what they needed.
func (b *builder) runMounts(ctx context.Context, root string, spec *runSpec) (_ []namespaces.MountSpec, _ func() error, retErr error) {
	var releases []func() error
	release := func() error {
		var errs []error
		for i := len(releases) - 1; i >= 0; i-- {
			errs = append(errs, releases[i]())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if retErr != nil {
			retErr = errors.Join(retErr, release())
		}
	}()
	var out []namespaces.MountSpec
	hosts, rel, err := b.hostsMounts(root, spec)
	if err != nil {
		return nil, nil, err
	}
	releases = append(releases, rel)
	out = append(out, hosts...)
	for _, m := range spec.mounts {
		ms, rel, err := b.runMount(ctx, m)
		if err != nil {
			return nil, nil, fmt.Errorf("RUN --mount=%s: %w", m.Raw, err)
		}
		releases = append(releases, rel)
		out = append(out, ms)
	}
	if spec.script != nil {
		f, err := b.tempFile("script-", spec.script, 0o755)
		if err != nil {
			return nil, nil, err
		}
		releases = append(releases, func() error { return os.Remove(f) })
		out = append(out, namespaces.MountSpec{Source: f, Target: runScriptPath, Options: []string{"bind", "ro"}})
	}
	return out, release, nil
}

// hostsMounts gives the command an /etc/hosts naming localhost and the
// build's hostname, or with --network=host the host's /etc/hosts and
// /etc/resolv.conf, where the image has those files.
func (b *builder) hostsMounts(root string, spec *runSpec) ([]namespaces.MountSpec, func() error, error) {
	none := func() error { return nil }
	if spec.network == "host" {
		var out []namespaces.MountSpec
		for _, f := range []string{"/etc/hosts", "/etc/resolv.conf"} {
			if _, err := os.Stat(f); err == nil && existsIn(root, f) {
				out = append(out, namespaces.MountSpec{Source: f, Target: f, Options: []string{"bind", "ro"}})
			}
		}
		return out, none, nil
	}
	if !existsIn(root, "/etc/hosts") {
		return nil, none, nil
	}
	hosts := "127.0.0.1\tlocalhost " + buildHostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	f, err := b.tempFile("hosts-", []byte(hosts), 0o644)
	if err != nil {
		return nil, nil, err
	}
	return []namespaces.MountSpec{{Source: f, Target: "/etc/hosts", Options: []string{"bind", "ro"}}},
		func() error { return os.Remove(f) }, nil
}

// existsIn reports whether the regular file unsafePath exists in root.
// Mounting over an existing file changes nothing in the tree, while
// creating a mount point would put its directory in the layer.
func existsIn(root, unsafePath string) bool {
	p, err := namespaces.SecureJoin(root, unsafePath)
	if err != nil {
		return false
	}
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}

// tempFile writes data to a new file in the cache directory.
func (b *builder) tempFile(prefix string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(b.cacheDir, prefix)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(mode), f.Close())
	if err != nil {
		return "", errors.Join(err, os.Remove(f.Name()))
	}
	return f.Name(), nil
}

// runMount prepares one --mount.
func (b *builder) runMount(ctx context.Context, m *dockerfile.Mount) (namespaces.MountSpec, func() error, error) {
	opt := "rw"
	if m.ReadOnly {
		opt = "ro"
	}
	switch m.Type {
	case dockerfile.MountTmpfs:
		ms := namespaces.MountSpec{Source: "tmpfs", Target: m.Target, Type: "tmpfs", Options: []string{"nosuid", "nodev"}}
		if m.SizeLimit > 0 {
			ms.Options = append(ms.Options, "size="+strconv.FormatInt(m.SizeLimit, 10))
		}
		return ms, func() error { return nil }, nil
	case dockerfile.MountCache:
		dir, rel, err := b.cacheMount(m)
		return namespaces.MountSpec{Source: dir, Target: m.Target, Options: []string{"rbind", opt}}, rel, err
	default:
		dir, rel, err := b.bindSource(ctx, m)
		return namespaces.MountSpec{Source: dir, Target: m.Target, Options: []string{"rbind", opt}}, rel, err
	}
}

// cacheMount returns the persistent directory of a cache mount, made on
// first use with the mount's mode and owner; sharing=locked holds a lock
// on it until release.
func (b *builder) cacheMount(m *dockerfile.Mount) (string, func() error, error) {
	if m.From != "" {
		return "", nil, fmt.Errorf("cache mounts seeded from= a stage: %w", errors.ErrUnsupported)
	}
	id := m.ID
	if id == "" {
		id = path.Clean(m.Target)
	}
	sum := sha256.Sum256([]byte(id))
	dir := filepath.Join(b.cacheDir, "mounts", hex.EncodeToString(sum[:16]))
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", nil, err
	}
	if err := makeCacheDir(dir, m); err != nil {
		return "", nil, err
	}
	if m.Sharing != "locked" {
		return dir, func() error { return nil }, nil
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return "", nil, &fs.PathError{Op: "flock", Path: dir, Err: err}
	}
	return dir, func() error { return unix.Close(fd) }, nil
}

// makeCacheDir creates a cache mount's directory if it is new.
func makeCacheDir(dir string, m *dockerfile.Mount) error {
	mode := os.FileMode(0o755)
	if m.Mode != nil {
		mode = unixMode(*m.Mode)
	}
	err := os.Mkdir(dir, mode)
	if errors.Is(err, fs.ErrExist) {
		return nil
	} else if err != nil {
		return err
	}
	uid, gid := 0, 0
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	if err := errors.Join(os.Chmod(dir, mode), os.Lchown(dir, uid, gid)); err != nil {
		return errors.Join(err, os.Remove(dir))
	}
	return nil
}

// bindSource returns the host directory a bind mount shows: a copy of
// the context's files below its source without what .dockerignore
// excludes (a copy also keeps a read-write mount's writes away from the
// context), or a stage's or image's tree.
func (b *builder) bindSource(ctx context.Context, m *dockerfile.Mount) (string, func() error, error) {
	if m.From == "" {
		t := sourceTree{root: b.contextDir, ignore: b.ignore, what: "the build context"}
		cs, err := t.load(path.Clean("/" + m.Source))
		if err != nil {
			return "", nil, errors.Join(t.notFound(m.Source), err)
		}
		dir, err := os.MkdirTemp(b.cacheDir, "bind-")
		if err != nil {
			return "", nil, err
		}
		rel := func() error { return os.RemoveAll(dir) }
		dst := filepath.Join(dir, "src")
		if err := copyOut(cs, dst); err != nil {
			return "", nil, errors.Join(err, rel())
		}
		return dst, rel, nil
	}
	descs, diffIDs, err := b.fromRef(ctx, m.From)
	if err != nil {
		return "", nil, err
	}
	chain, err := b.materialize(ctx, descs, diffIDs)
	if err != nil {
		return "", nil, err
	}
	t, err := b.openTree(ctx, chain, !m.ReadOnly)
	if err != nil {
		return "", nil, err
	}
	src, err := namespaces.SecureJoin(t.dir, m.Source)
	if err != nil {
		return "", nil, errors.Join(err, t.release())
	}
	return src, t.release, nil
}

// openTree gives access to a copy of the snapshot chain: a view, or with
// writable a throwaway active snapshot. release unmounts and removes it.
func (b *builder) openTree(ctx context.Context, chain string, writable bool) (tree, error) {
	if !writable {
		return b.openView(ctx, chain)
	}
	key := snapshotKey("bind")
	ms, err := b.opts.Snapshotter.Prepare(ctx, key, chain)
	if err != nil {
		return tree{}, err
	}
	remove := func() error { return b.opts.Snapshotter.Remove(context.WithoutCancel(ctx), key) }
	t, err := mountTree(key, ms)
	if err != nil {
		return tree{}, errors.Join(err, remove())
	}
	unmount := t.release
	t.release = func() error { return errors.Join(unmount(), remove()) }
	return t, nil
}

// copyOut writes the files of a source below dst, which must not exist.
func copyOut(cs *copySource, dst string) error {
	for i := range cs.files {
		f := &cs.files[i]
		p := filepath.Join(dst, filepath.FromSlash(f.rel))
		var err error
		switch {
		case f.mode.IsDir():
			err = os.Mkdir(p, f.mode.Perm()|0o700)
		case f.mode&fs.ModeSymlink != 0:
			err = os.Symlink(f.link, p)
		case f.mode.IsRegular():
			err = copyFileTo(f.abs, p, f.mode.Perm())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func copyFileTo(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// unixMode converts Unix permission and special bits to an os.FileMode.
func unixMode(m uint64) os.FileMode {
	mode := os.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	return mode
}
