//go:build !linux

package layers

import (
	"archive/tar"
	"errors"
	"io"
)

type extractor struct{ last string }

func newExtractor(dir string, opts *ApplyOptions) (*extractor, error) {
	return nil, errors.ErrUnsupported
}

func (x *extractor) close() error                             { return nil }
func (x *extractor) entry(hdr *tar.Header, r io.Reader) error { return errors.ErrUnsupported }
func (x *extractor) finish() error                            { return errors.ErrUnsupported }

func (x *extractor) writerErr() error { return nil }
func (x *extractor) wait() error      { return nil }
