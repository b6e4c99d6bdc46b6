package layers

import (
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// DigestMismatchError reports content whose size or digest differs from the
// descriptor it was expected to match. [Layout.Ingest] returns it (wrapped)
// when the written bytes do not match; nothing is kept in that case.
type DigestMismatchError struct {
	// Want and Got are the expected and the actual digest. Got is empty
	// when the size check failed before the digest could be computed.
	Want, Got digest.Digest
	// WantSize and GotSize are the expected and actual sizes in bytes.
	// WantSize is -1 when the expectation gave no size.
	WantSize, GotSize int64
}

// Error describes the mismatch.
func (e *DigestMismatchError) Error() string {
	if e.WantSize >= 0 && e.WantSize != e.GotSize {
		return fmt.Sprintf("layers: content %s: size %d, want %d", e.Want, e.GotSize, e.WantSize)
	}
	return fmt.Sprintf("layers: content digest %s, want %s", e.Got, e.Want)
}

// Unwrap returns [ErrDigestMismatch], so that callers can test with
// errors.Is without a type assertion.
func (e *DigestMismatchError) Unwrap() error { return ErrDigestMismatch }

// ErrDigestMismatch is the category of every [DigestMismatchError].
var ErrDigestMismatch = errors.New("content does not match its descriptor")

// ErrTooLarge is wrapped by [Apply] when the uncompressed layer exceeds
// [ApplyOptions.MaxSize].
var ErrTooLarge = errors.New("layer exceeds the size limit")

// ErrInvalidEntry is wrapped by [Apply] for a tar entry that is malformed or
// would escape the target directory; the error text names the entry.
var ErrInvalidEntry = errors.New("invalid layer entry")

// ErrHasChildren is wrapped by [Snapshotter.Remove] when the snapshot is the
// parent of other snapshots.
var ErrHasChildren = errors.New("snapshot has children")

// entryError names a tar entry in an error.
func entryError(name string, err error) error {
	return fmt.Errorf("layer entry %q: %w", name, err)
}
