package namespaces

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// maxSymlinks bounds the symlinks followed while resolving one path, as
// Linux does (ELOOP after 40).
const maxSymlinks = 40

// SecureJoin joins root and unsafePath as if root were "/": ".." stops at
// root, and symlinks met on the way, absolute or relative, are resolved
// inside root. The result is a host path that is inside root (or root
// itself) at the time of the call; missing components are joined as they
// are. It wraps [fs.ErrInvalid] after more than 40 symlinks.
//
// The result is a string, so a process that can change the tree under
// root can make it point elsewhere afterwards. Use it for messages and for
// trees nobody else writes to; to act on a tree a container can change,
// use [OpenInRoot] or [MkdirAllInRoot], which hold a descriptor.
func SecureJoin(root, unsafePath string) (string, error) {
	resolved := "/"
	remaining := unsafePath
	links := 0
	for remaining != "" {
		var comp string
		comp, remaining, _ = strings.Cut(remaining, "/")
		switch comp {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, comp)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			// A missing component, or anything but a symlink, is taken as
			// it is; the join stays lexical from there on.
			resolved = next
			continue
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("joining %q to %s: too many symlinks: %w", unsafePath, root, fs.ErrInvalid)
		}
		dest, err := os.Readlink(filepath.Join(root, next))
		if err != nil {
			return "", fmt.Errorf("joining %q to %s: %w", unsafePath, root, err)
		}
		if path.IsAbs(dest) {
			resolved = "/"
		}
		remaining = dest + "/" + remaining
	}
	return filepath.Join(root, resolved), nil
}
