package layers

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Compression names a layer compression. The zero value is Uncompressed.
type Compression int

const (
	// Uncompressed is a plain tar stream.
	Uncompressed Compression = iota
	// Gzip is RFC 1952 gzip.
	Gzip
	// Zstd is Zstandard (RFC 8878).
	Zstd
)

// String returns "uncompressed", "gzip" or "zstd".
func (c Compression) String() string {
	switch c {
	case Uncompressed:
		return "uncompressed"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// MediaType returns the OCI layer media type for a layer tar with this
// compression.
func (c Compression) MediaType() string {
	switch c {
	case Gzip:
		return ocispec.MediaTypeImageLayerGzip
	case Zstd:
		return ocispec.MediaTypeImageLayerZstd
	}
	return ocispec.MediaTypeImageLayer
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// DetectCompression reports the compression of a stream from its first
// bytes (at least 4 are needed to recognise zstd). Anything else is
// Uncompressed.
func DetectCompression(head []byte) Compression {
	switch {
	case bytes.HasPrefix(head, gzipMagic):
		return Gzip
	case bytes.HasPrefix(head, zstdMagic):
		return Zstd
	}
	return Uncompressed
}

// Decompress detects the compression of r by its magic number and returns a
// reader of the uncompressed stream, and the compression found. The caller
// must Close the reader, which does not close r.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(4)
	if err != nil && err != io.EOF {
		return nil, Uncompressed, fmt.Errorf("reading compression header: %w", err)
	}
	c := DetectCompression(head)
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, c, fmt.Errorf("opening gzip stream: %w", err)
		}
		return zr, c, nil
	case Zstd:
		// Two decoder goroutines: decoding overlaps reading; windows are
		// capped at 128 MiB, like the zstd tool's default memory limit.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxWindow(1<<27))
		if err != nil {
			return nil, c, fmt.Errorf("opening zstd stream: %w", err)
		}
		return zstdReadCloser{zr}, c, nil
	}
	return io.NopCloser(br), c, nil
}

type zstdReadCloser struct{ *zstd.Decoder }

func (z zstdReadCloser) Close() error { z.Decoder.Close(); return nil }

// Compress returns a writer that compresses into w with c. The caller must
// Close it to flush the stream; Close does not close w. Uncompressed returns
// a writer that passes bytes through.
func Compress(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case Uncompressed:
		return nopWriteCloser{w}, nil
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	case Zstd:
		zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(2))
		if err != nil {
			return nil, fmt.Errorf("opening zstd writer: %w", err)
		}
		return zw, nil
	}
	return nil, fmt.Errorf("compressing with %v: %w", c, errUnknownCompression)
}

var errUnknownCompression = fmt.Errorf("unknown compression")

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
