package berth

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// storeTar writes the layer lt as a tar into the store and returns its
// cache entry.
func (b *builder) storeTar(ctx context.Context, lt *layerTree) (cacheEntry, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(lt.write(pw)) }()
	desc, diffID, err := b.storeLayer(ctx, pr)
	pr.CloseWithError(errors.Join(err, io.ErrClosedPipe))
	if err != nil {
		return cacheEntry{}, err
	}
	return cacheEntry{Layer: desc, DiffID: diffID}, nil
}

// write writes the tar: entries in byte order of their path components,
// so that a directory comes right before its contents, as layers.Diff
// orders them.
func (lt *layerTree) write(w io.Writer) error {
	names := make([]string, 0, len(lt.entries))
	for n := range lt.entries {
		names = append(names, n)
	}
	slices.SortFunc(names, comparePaths)
	tw := tar.NewWriter(w)
	buf := make([]byte, 128<<10)
	for _, n := range names {
		e := lt.entries[n]
		hdr := e.hdr
		hdr.Name = n
		if hdr.Typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			return fmt.Errorf("writing %q: %w", n, err)
		}
		if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
			if err := e.writeContent(tw, buf); err != nil {
				return fmt.Errorf("writing %q: %w", n, err)
			}
		}
	}
	return tw.Close()
}

// comparePaths orders slash paths component by component.
func comparePaths(a, b string) int {
	for {
		ca, ra, okA := strings.Cut(a, "/")
		cb, rb, okB := strings.Cut(b, "/")
		if c := strings.Compare(ca, cb); c != 0 {
			return c
		}
		switch {
		case !okA && !okB:
			return 0
		case !okA:
			return -1
		case !okB:
			return 1
		}
		a, b = ra, rb
	}
}

// writeContent copies a regular file's content into tw, checking that it
// is still what the cache key was computed from.
func (e *layerEntry) writeContent(tw io.Writer, buf []byte) error {
	f := e.file
	if f == nil {
		return fmt.Errorf("no content for a regular file")
	}
	if f.abs == "" {
		_, err := tw.Write(f.data)
		return err
	}
	in, err := os.Open(f.abs)
	if err != nil {
		return err
	}
	defer in.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(tw, h), io.LimitReader(in, f.size), buf)
	if err != nil {
		return err
	}
	if n != f.size || (f.digest != "" && hex.EncodeToString(h.Sum(nil)) != f.digest) {
		return fmt.Errorf("%s changed during the build", f.abs)
	}
	return nil
}
