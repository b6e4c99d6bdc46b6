//go:build !linux

package main

import (
	"errors"
	"os"

	"github.com/berthlabs/berth"
)

func makeRaw(f *os.File) (func(), error) { return nil, errors.ErrUnsupported }

func resize(ctr *berth.Container) {}
