//go:build !linux

package layers

import (
	"io/fs"
	"os"
)

func removeTree(path string) error {
	if _, err := os.Lstat(path); err != nil {
		return err
	}
	if err := os.RemoveAll(path); err != nil {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}
