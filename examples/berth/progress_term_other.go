//go:build !linux

package main

import "os"

// isTerminal reports false: the live display is Linux-only here.
func isTerminal(*os.File) bool { return false }

// termSize returns zeros: unknown.
func termSize(*os.File) (int, int) { return 0, 0 }
