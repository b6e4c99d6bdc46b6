package logfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func collect(t *testing.T, path string, maxFiles int) []Entry {
	t.Helper()
	var out []Entry
	require.NoError(t, Read(path, maxFiles, func(e Entry) error { out = append(out, e); return nil }))
	return out
}

func TestStreamsAndLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := Open(path, 0, 0)
	require.NoError(t, err)
	_, err = fmt.Fprint(w.Stream("stdout"), "one\ntwo\npart")
	require.NoError(t, err)
	_, err = fmt.Fprint(w.Stream("stderr"), "oops\n")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	_, err = w.Stream("stdout").Write([]byte("late"))
	require.ErrorIs(t, err, os.ErrClosed)

	got := collect(t, path, 0)
	require.Len(t, got, 4)
	assert.Equal(t, "one\n", got[0].Log)
	assert.Equal(t, "part", got[2].Log)
	assert.Equal(t, "stderr", got[3].Stream)
	assert.False(t, got[0].Time.IsZero())
}

func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := Open(path, 1000, 3)
	require.NoError(t, err)
	for i := range 200 {
		_, err := fmt.Fprintf(w.Stream("stdout"), "line %03d\n", i)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	var total int64
	for i := range 4 {
		st, err := os.Stat(Name(path, i))
		if i == 3 {
			require.ErrorIs(t, err, os.ErrNotExist, "at most 3 files")
			continue
		}
		require.NoError(t, err)
		assert.LessOrEqual(t, st.Size(), int64(1000))
		total += st.Size()
	}
	got := collect(t, path, 3)
	require.NotEmpty(t, got)
	assert.Equal(t, "line 199\n", got[len(got)-1].Log, "newest kept")
	for i := 1; i < len(got); i++ {
		assert.Less(t, got[i-1].Log, got[i].Log, "in order")
	}
	assert.Less(t, len(got), 200, "oldest dropped")
}

func TestSingleFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := Open(path, 200, 1)
	require.NoError(t, err)
	for i := range 50 {
		_, err := fmt.Fprintf(w.Stream("stdout"), "l%d\n", i)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.LessOrEqual(t, st.Size(), int64(200))
}

func TestTornLineSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"stream":"stdout","log":"a\n"}`+"\n"+`not json`+"\n"+`{"stream":"std`), 0o600))
	got := collect(t, path, 0)
	require.Len(t, got, 1)
	assert.Equal(t, "a\n", got[0].Log)
}

func TestFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	w, err := Open(path, 300, 2)
	require.NoError(t, err)
	_, err = fmt.Fprint(w.Stream("stdout"), "before\n")
	require.NoError(t, err)
	var finished atomic.Bool
	go func() {
		for i := range 30 {
			fmt.Fprintf(w.Stream("stdout"), "after %02d\n", i)
			time.Sleep(time.Millisecond)
		}
		w.Close()
		finished.Store(true)
	}()
	var lines []string
	err = Follow(t.Context(), path, 2, 5*time.Millisecond, finished.Load, func(e Entry) error {
		lines = append(lines, strings.TrimSpace(e.Log))
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, "before", lines[0])
	assert.Equal(t, "after 29", lines[len(lines)-1])

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = Follow(ctx, path, 2, time.Millisecond, func() bool { return false }, func(Entry) error { return nil })
	require.ErrorIs(t, err, context.Canceled)
}
