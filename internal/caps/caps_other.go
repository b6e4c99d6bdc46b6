//go:build !linux

package caps

import "errors"

// KernelLast returns [Last] off Linux.
func KernelLast() int { return Last }

// DropBounding returns errors.ErrUnsupported off Linux.
func DropBounding(keep []int, last int) error { return errors.ErrUnsupported }

// SetKeepCaps returns errors.ErrUnsupported off Linux.
func SetKeepCaps(on bool) error { return errors.ErrUnsupported }

// Set returns errors.ErrUnsupported off Linux.
func Set(set []int) error { return errors.ErrUnsupported }
