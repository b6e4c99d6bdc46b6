package berth

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/berthlabs/berth/namespaces"
)

// layerTree is the content of a layer a COPY or ADD writes: tar headers
// by path (relative to the image root, no leading slash), with the
// source of each regular file's content.
type layerTree struct {
	entries map[string]*layerEntry
}

type layerEntry struct {
	hdr  tar.Header
	file *srcFile
}

// destTree answers questions about the tree a layer goes on; an empty dir
// is an empty tree (scratch, or COPY --link).
type destTree struct{ dir string }

// resolve returns the path of imgPath in the tree after following the
// symlinks on the way, inside the tree: "" for the root.
func (d destTree) resolve(imgPath string) (string, error) {
	if d.dir == "" {
		return strings.TrimPrefix(path.Clean("/"+imgPath), "/"), nil
	}
	abs, err := namespaces.SecureJoin(d.dir, imgPath)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(d.dir, abs)
	if err != nil {
		return "", err
	}
	if rel == "." {
		return "", nil
	}
	return filepath.ToSlash(rel), nil
}

// lstat describes rel in the tree.
func (d destTree) lstat(rel string) (fs.FileInfo, error) {
	if d.dir == "" {
		return nil, fs.ErrNotExist
	}
	return os.Lstat(filepath.Join(d.dir, rel))
}

// isDir reports whether imgPath is a directory (following symlinks).
func (d destTree) isDir(imgPath string) bool {
	rel, err := d.resolve(imgPath)
	if err != nil {
		return false
	}
	fi, err := d.lstat(rel)
	return err == nil && fi.IsDir() || rel == ""
}

// layoutCopy places the sources of p in the tree at dir with Docker's
// rules: a directory's contents go into the destination; a file goes to
// the destination itself, or into it when it is written as a directory,
// is a directory, or several sources are copied.
func (b *builder) layoutCopy(p *copyPlan, dir string) (*layerTree, error) {
	dt := destTree{dir}
	own, err := resolveChown(p.chown, dir)
	if err != nil {
		return nil, err
	}
	chmod, err := parseChmod(p.chmod)
	if err != nil {
		return nil, err
	}
	lt := &layerTree{entries: map[string]*layerEntry{}}
	multiple := len(p.sources) > 1
	intoDir := p.destDir || multiple || dt.isDir(p.dest)
	if multiple && !p.destDir && !dt.isDir(p.dest) {
		return nil, fmt.Errorf("when %s has more than one source file, the destination %q must be a directory and end with a /: %w", p.op, p.dest, fs.ErrInvalid)
	}
	hb := headerBuilder{b: b, own: own, chmod: chmod, keepOwner: p.src.keepOwner}
	for _, cs := range p.sources {
		if cs.isDir() {
			base, err := dt.resolve(p.dest)
			if err != nil {
				return nil, err
			}
			if err := lt.addDir(cs, base, dt, hb); err != nil {
				return nil, err
			}
			continue
		}
		target := path.Join(path.Dir(p.dest), path.Base(p.dest))
		dirPart := path.Dir(p.dest)
		if intoDir {
			dirPart, target = p.dest, path.Join(p.dest, cs.name)
		}
		parent, err := dt.resolve(dirPart)
		if err != nil {
			return nil, err
		}
		name := path.Join(parent, path.Base(target))
		if fi, err := dt.lstat(name); err == nil && fi.IsDir() {
			return nil, fmt.Errorf("copying %q: /%s is a directory: %w", cs.name, name, fs.ErrExist)
		}
		lt.put(name, hb.header(&cs.files[0], cs.keepOwner), &cs.files[0])
	}
	return lt, lt.addParents(dt, hb)
}

// addDir places a directory source's contents below base.
func (lt *layerTree) addDir(cs *copySource, base string, dt destTree, hb headerBuilder) error {
	if fi, err := dt.lstat(base); err == nil && !fi.IsDir() {
		return fmt.Errorf("copying directory %q: /%s exists and is not a directory: %w", cs.name, base, fs.ErrExist)
	} else if err != nil && base != "" {
		lt.put(base, hb.header(&cs.files[0], cs.keepOwner), nil)
	}
	for i := 1; i < len(cs.files); i++ {
		f := &cs.files[i]
		lt.put(path.Join(base, f.rel), hb.header(f, cs.keepOwner), f)
	}
	return nil
}

func (lt *layerTree) put(name string, hdr tar.Header, f *srcFile) {
	if name == "" {
		return // the root directory is never part of a layer
	}
	if !f.isRegular() {
		f = nil
	}
	lt.entries[name] = &layerEntry{hdr: hdr, file: f}
}

func (f *srcFile) isRegular() bool { return f != nil && f.mode.IsRegular() }

// addParents adds the directories above every entry: as they are in the
// tree (their time the epoch when they gain an entry), or new ones (0755,
// owned by the --chown user or root). Without a tree (COPY --link) they
// are root's: such a layer must not change the owner of directories of
// whatever it is put on.
func (lt *layerTree) addParents(dt destTree, hb headerBuilder) error {
	modified := map[string]bool{}
	var missing []string
	for name := range lt.entries {
		modified[path.Dir(name)] = true
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if _, ok := lt.entries[d]; !ok {
				missing = append(missing, d)
			}
		}
	}
	for _, d := range missing {
		if _, ok := lt.entries[d]; ok {
			continue
		}
		hdr := tar.Header{Typeflag: tar.TypeDir, Mode: 0o755, ModTime: hb.b.epoch}
		if hb.own != nil && dt.dir != "" {
			hdr.Uid, hdr.Gid = hb.own.uid, hb.own.gid
		}
		if fi, err := dt.lstat(d); err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("/%s exists and is not a directory: %w", d, fs.ErrExist)
			}
			hdr.Mode = fileMode(fi.Mode())
			hdr.Uid, hdr.Gid = fileOwner(fi)
			if !modified[d] {
				hdr.ModTime = hb.b.clamp(fi.ModTime())
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		lt.entries[d] = &layerEntry{hdr: hdr}
	}
	return nil
}

// headerBuilder makes the tar header of a copied file.
type headerBuilder struct {
	b         *builder
	own       *owner
	chmod     *chmodSpec
	keepOwner bool
}

func (hb headerBuilder) header(f *srcFile, keepOwner bool) tar.Header {
	hdr := tar.Header{Mode: fileMode(f.mode), ModTime: hb.b.clamp(f.mtime)}
	if hb.keepOwner || keepOwner {
		hdr.Uid, hdr.Gid = f.uid, f.gid
	}
	if hb.own != nil {
		hdr.Uid, hdr.Gid = hb.own.uid, hb.own.gid
	}
	switch m := f.mode; {
	case m.IsDir():
		hdr.Typeflag = tar.TypeDir
	case m.IsRegular():
		hdr.Typeflag, hdr.Size = tar.TypeReg, f.size
	case m&fs.ModeSymlink != 0:
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, f.link
		return hdr
	case m&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	case m&fs.ModeCharDevice != 0:
		hdr.Typeflag = tar.TypeChar
		hdr.Devmajor, hdr.Devminor = devNumbers(f.rdev)
	case m&fs.ModeDevice != 0:
		hdr.Typeflag = tar.TypeBlock
		hdr.Devmajor, hdr.Devminor = devNumbers(f.rdev)
	}
	if hb.chmod != nil {
		hdr.Mode = hb.chmod.apply(hdr.Mode, f.mode.IsDir())
	}
	return hdr
}

// clamp truncates t to seconds and limits it to the epoch.
func (b *builder) clamp(t time.Time) time.Time {
	t = t.Truncate(time.Second)
	if t.After(b.epoch) {
		return b.epoch
	}
	return t.UTC()
}
