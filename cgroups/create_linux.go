package cgroups

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mkdirChain creates root+p, creating missing ancestors. before runs on
// each existing or new parent directory before its child is made; after
// runs on each directory New makes. The leaf must not exist: that fails
// wrapping fs.ErrExist. It returns an undo that removes what it created,
// deepest first, leaving ancestors another group has started to use.
func mkdirChain(root, p string, fake bool, before, after func(dir string) error) (undo func() error, err error) {
	var created []string
	undo = func() error {
		var errs []error
		for i := len(created) - 1; i >= 0; i-- {
			err := removeTree(created[i], fake)
			if err != nil && i < len(created)-1 && isBusy(err) {
				continue // an ancestor someone else now uses
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	dir := root
	elems := strings.Split(strings.Trim(p, "/"), "/")
	for i, elem := range elems {
		if err := before(dir); err != nil {
			return nil, errors.Join(err, undo())
		}
		dir = filepath.Join(dir, elem)
		err := unix.Mkdir(dir, 0o755)
		if err == unix.EEXIST && i < len(elems)-1 {
			continue
		}
		if err != nil {
			return nil, errors.Join(&fs.PathError{Op: "mkdir", Path: dir, Err: err}, undo())
		}
		created = append(created, dir)
		if err := after(dir); err != nil {
			return nil, errors.Join(err, undo())
		}
	}
	return undo, nil
}

func isBusy(err error) bool {
	return errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EBUSY)
}
