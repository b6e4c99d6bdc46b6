package layers

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
)

// ApplyOptions tunes [Apply]. The zero value applies everything a layer
// holds, which needs root, and removes whited-out paths.
type ApplyOptions struct {
	// OverlayWhiteouts writes whiteouts the way overlayfs stores them in an
	// upper dir, for a dir that is (or will be) an overlay upper dir: a
	// .wh.NAME entry becomes a 0/0 character device NAME and an opaque
	// marker sets the trusted.overlay.opaque xattr on its directory. Needs
	// root. False: whited-out paths are removed from dir and an opaque
	// directory loses every child the layer does not itself contain.
	OverlayWhiteouts bool
	// Unprivileged applies only what an ordinary user can: ownership is not
	// applied (files belong to the caller), block and character devices
	// are skipped, and only user.* xattrs are set. False: everything is
	// applied, and a failure (EPERM as non-root) is an error naming the
	// entry.
	Unprivileged bool
	// MaxSize limits the uncompressed size of the layer in bytes, against
	// decompression bombs; exceeding it fails with [ErrTooLarge]. Zero
	// means no limit.
	MaxSize int64
}

// Apply extracts the OCI layer read from r into dir and returns its diffID
// (the SHA-256 digest of the uncompressed tar stream, including the
// end-of-archive padding, which Apply reads to the end). r may be gzip- or
// zstd-compressed; the compression is detected by magic number.
//
// Apply creates regular files, directories, symlinks, hardlinks, fifos
// and, unless opts.Unprivileged, device nodes; it sets ownership (numeric
// uid/gid; names are ignored), modes including setuid/setgid/sticky,
// modification and access times, and xattrs (from PAX SCHILY.xattr.
// records), except trusted.overlay.* and user.overlay.*, which a layer
// could use to forge overlay metadata and are never applied. A later entry
// for the same path replaces the earlier one (a directory over a directory
// only updates its metadata). Missing parent directories are created with
// mode 0755.
//
// Whiteouts (.wh.NAME) delete NAME, and an opaque marker (.wh..wh..opq)
// hides everything in its directory that lower layers put there; see
// [ApplyOptions.OverlayWhiteouts] for overlay upper dirs.
//
// Confinement: every path is resolved inside dir as if dir were the root
// (openat2 RESOLVE_IN_ROOT; os.Root where the kernel lacks openat2), so no
// entry can write, remove or link anything outside dir. Absolute names and
// symlink targets are taken relative to dir; a symlink in the path, also
// one created earlier by the same layer, is followed within dir; the last
// component is never followed, so a file entry replaces a symlink instead
// of writing through it. Names and hardlink targets whose ".." components
// would climb above dir are rejected with [ErrInvalidEntry], as are
// whiteouts of "." or "..", and unknown entry types. Every such error
// names the entry.
//
// Apply reads, decompresses and hashes the stream on one goroutine of its
// own and writes the content and metadata of regular files on another,
// while the calling goroutine creates every entry by name in stream
// order; both have ended when Apply returns.
//
// On error dir may hold part of the layer; callers extracting into a
// snapshot remove it. Cancelling ctx stops the extraction between entries.
func Apply(ctx context.Context, dir string, r io.Reader, opts *ApplyOptions) (digest.Digest, error) {
	if opts == nil {
		opts = &ApplyOptions{}
	}
	x, err := newExtractor(dir, opts)
	if err != nil {
		return "", fmt.Errorf("applying layer to %q: %w", dir, err)
	}
	p := startPipeline(r, opts.MaxSize)
	dgst, err := x.run(ctx, p)
	err = errors.Join(err, p.stop(), x.close())
	if err != nil {
		return "", fmt.Errorf("applying layer to %q: %w", dir, err)
	}
	return dgst, nil
}

// run extracts every entry, finishes directory metadata, and drains the
// stream so that the diffID covers all of it.
func (x *extractor) run(ctx context.Context, p *pipeline) (digest.Digest, error) {
	tr := tar.NewReader(p)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading layer after entry %q: %w", x.last, err)
		}
		x.last = hdr.Name
		if err := x.entry(hdr, tr); err != nil {
			if werr := x.writerErr(); werr != nil {
				return "", werr // names the entry it failed on
			}
			return "", entryError(hdr.Name, err)
		}
	}
	if err := x.wait(); err != nil {
		return "", err
	}
	if err := x.finish(); err != nil {
		return "", err
	}
	return p.drain()
}

// cleanEntryName turns a tar entry name into a slash-separated path
// relative to the layer root, "" for the root itself. A leading "/" is
// dropped; ".." that would climb above the root is rejected.
func cleanEntryName(name string) (string, error) {
	if s, ok := plainEntryName(name); ok {
		return s, nil
	}
	if name == "" || strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("name %q: %w", name, ErrInvalidEntry)
	}
	depth := 0
	for _, part := range strings.Split(name, "/") {
		switch part {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", fmt.Errorf("name %q leaves the layer root: %w", name, ErrInvalidEntry)
			}
		default:
			depth++
		}
	}
	return strings.TrimPrefix(path.Clean("/"+name), "/"), nil
}

// plainEntryName is cleanEntryName's fast path, without allocations, for
// the names nearly every layer holds: relative, with no empty, "." or ".."
// components and no NUL, after dropping one leading "./" and one trailing
// "/". It reports false for any other name.
func plainEntryName(name string) (string, bool) {
	n := strings.TrimSuffix(strings.TrimPrefix(name, "./"), "/")
	if n == "" {
		return "", false
	}
	start := 0
	for i := 0; i <= len(n); i++ {
		if i < len(n) && n[i] != '/' {
			if n[i] == 0 {
				return "", false
			}
			continue
		}
		if c := n[start:i]; c == "" || c == "." || c == ".." {
			return "", false
		}
		start = i + 1
	}
	return n, true
}

// splitName splits a clean relative name into its parent ("" for the root)
// and base.
func splitName(name string) (parent, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	xattrPrefix    = "SCHILY.xattr."
)

// entryXattrs returns the xattrs of hdr that may be applied.
func entryXattrs(hdr *tar.Header, unprivileged bool) map[string]string {
	var out map[string]string
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, xattrPrefix)
		if !ok || strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		if unprivileged && !strings.HasPrefix(name, "user.") {
			continue
		}
		if out == nil {
			out = make(map[string]string)
		}
		out[name] = v
	}
	return out
}
