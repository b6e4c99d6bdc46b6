package berth

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/berthlabs/berth/internal/logfile"
)

// LogEntry is one record of a detached container's log: a line (or the
// last, unterminated part) of its stdout or stderr.
type LogEntry struct {
	Time   time.Time
	Stream string // "stdout" or "stderr"
	Text   string // with its newline, if it had one
}

// Logs calls fn for each entry of a detached container's log, oldest
// first, across the rotated files. With follow it then waits for new
// entries until the container has exited and its log is complete, or ctx
// ends (docker logs -f). An error from fn stops it and is returned. A
// container that was not started detached has no log: the error wraps
// fs.ErrNotExist.
func (c *Container) Logs(ctx context.Context, follow bool, fn func(LogEntry) error) error {
	s, err := openStore(c.StateDir)
	if err != nil {
		return err
	}
	st, err := s.load(c.ID)
	if err != nil {
		return err
	}
	if st.LogPath == "" {
		return fmt.Errorf("logs of container %q: not detached, no log: %w", c.ID, fs.ErrNotExist)
	}
	each := func(e logfile.Entry) error { return fn(LogEntry{Time: e.Time, Stream: e.Stream, Text: e.Log}) }
	if !follow {
		return logfile.Read(st.LogPath, st.LogMaxFiles, each)
	}
	exited := func() bool {
		cur, err := s.load(c.ID)
		return err != nil || cur.Status == StatusExited
	}
	return logfile.Follow(ctx, st.LogPath, st.LogMaxFiles, 100*time.Millisecond, exited, each)
}
