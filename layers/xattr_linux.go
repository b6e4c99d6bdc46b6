package layers

import (
	"io/fs"
	"strings"

	"golang.org/x/sys/unix"
)

// listXattrs reads the xattrs of a path (not following symlinks), except
// the overlay ones.
func listXattrs(p string) (map[string]string, error) {
	return readXattrs(p, func(b []byte) (int, error) { return unix.Llistxattr(p, b) },
		func(k string, b []byte) (int, error) { return unix.Lgetxattr(p, k, b) })
}

// fdXattrs is listXattrs on an open descriptor; p is for errors.
func fdXattrs(fd int, p string) (map[string]string, error) {
	return readXattrs(p, func(b []byte) (int, error) { return unix.Flistxattr(fd, b) },
		func(k string, b []byte) (int, error) { return unix.Fgetxattr(fd, k, b) })
}

func readXattrs(p string, list func([]byte) (int, error), get func(string, []byte) (int, error)) (map[string]string, error) {
	var stack [1024]byte
	names := stack[:]
	n, err := list(names)
	if err == unix.ERANGE {
		size, err2 := list(nil)
		if err2 != nil {
			return nil, &fs.PathError{Op: "listxattr", Path: p, Err: err2}
		}
		names = make([]byte, size)
		n, err = list(names)
	}
	if err == unix.ENOTSUP || (err == nil && n == 0) {
		return nil, nil
	}
	if err != nil {
		return nil, &fs.PathError{Op: "listxattr", Path: p, Err: err}
	}
	out := map[string]string{}
	for _, k := range strings.Split(string(names[:n]), "\x00") {
		if k == "" || strings.HasPrefix(k, "trusted.overlay.") || strings.HasPrefix(k, "user.overlay.") {
			continue
		}
		v, err := getXattrWith(k, get)
		if err == unix.ENODATA {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "getxattr " + k, Path: p, Err: err}
		}
		out[k] = v
	}
	return out, nil
}

func getXattr(p, k string) (string, error) {
	return getXattrWith(k, func(k string, b []byte) (int, error) { return unix.Lgetxattr(p, k, b) })
}

func getXattrWith(k string, get func(string, []byte) (int, error)) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := get(k, buf)
		if err == unix.ERANGE {
			size, err := get(k, nil)
			if err != nil {
				return "", err
			}
			buf = make([]byte, size)
			continue
		}
		if err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
}
