//go:build !linux

package seccomp

import "errors"

var syscalls map[string]uint32

// Native returns errors.ErrUnsupported off Linux.
func Native() (Arch, error) { return Arch{}, errors.ErrUnsupported }

// Load returns errors.ErrUnsupported off Linux.
func Load(caps []int) error { return errors.ErrUnsupported }
