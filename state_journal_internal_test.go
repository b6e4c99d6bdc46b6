package berth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestStore(t *testing.T) *store {
	t.Helper()
	s, err := openStore(t.TempDir())
	require.NoError(t, err)
	return s
}

// decodeStream decodes every JSON value in data, as jq would.
func decodeStream(t *testing.T, data []byte) []State {
	t.Helper()
	var out []State
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var st State
		err := dec.Decode(&st)
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, st)
	}
}

func TestJournalUpdatesAppend(t *testing.T) {
	s := newTestStore(t)
	st := &State{ID: "c1", Status: StatusCreated, Args: []string{"/bin/true"}, Env: []string{"A=}\n}"}}
	require.NoError(t, s.create(st))
	for i, status := range []Status{StatusCreated, StatusRunning, StatusExited} {
		st.Status, st.PID = status, 100+i
		require.NoError(t, s.update(st))
	}
	got, err := s.load("c1")
	require.NoError(t, err)
	assert.Equal(t, StatusExited, got.Status)
	assert.Equal(t, 102, got.PID)
	assert.Equal(t, []string{"A=}\n}"}, got.Env)

	data, err := os.ReadFile(filepath.Join(s.containerDir("c1"), stateFile))
	require.NoError(t, err)
	records := decodeStream(t, data)
	require.Len(t, records, 4, "one record per write")
	assert.Equal(t, 0, records[0].PID)
	assert.Equal(t, StatusRunning, records[2].Status)
}

func TestJournalTornTail(t *testing.T) {
	s := newTestStore(t)
	st := &State{ID: "c1", Status: StatusCreated}
	require.NoError(t, s.create(st))
	st.Status, st.PID = StatusRunning, 7
	require.NoError(t, s.update(st))
	path := filepath.Join(s.containerDir("c1"), stateFile)
	full, err := os.ReadFile(path)
	require.NoError(t, err)

	// A writer killed mid-append leaves part of a record; a reader racing
	// a writer sees the same. Every cut of the last record reads as the
	// one before.
	rec, err := encodeRecord(&State{ID: "c1", Status: StatusExited, PID: 7, ExitCode: 3})
	require.NoError(t, err)
	for cut := 1; cut < len(rec)-1; cut += 7 {
		require.NoError(t, os.WriteFile(path, append(bytes.Clone(full), rec[:cut]...), 0o600))
		got, err := readState(path)
		require.NoError(t, err, "cut %d", cut)
		assert.Equal(t, StatusRunning, got.Status, "cut %d", cut)
	}
	// The next update cuts the torn tail off.
	st.Status, st.ExitCode = StatusExited, 3
	require.NoError(t, s.update(st))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	records := decodeStream(t, data)
	require.Len(t, records, 3)
	assert.Equal(t, 3, records[2].ExitCode)
}

func TestJournalReadsOldFormat(t *testing.T) {
	s := newTestStore(t)
	require.NoError(t, os.MkdirAll(s.containerDir("old"), 0o700))
	path := filepath.Join(s.containerDir("old"), stateFile)
	data, err := json.MarshalIndent(&State{ID: "old", Status: StatusRunning, PID: 5}, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600)) // no trailing newline
	got, err := s.load("old")
	require.NoError(t, err)
	assert.Equal(t, 5, got.PID)
	require.NoError(t, s.update(&State{ID: "old", Status: StatusExited, PID: 5}))
	got, err = s.load("old")
	require.NoError(t, err)
	assert.Equal(t, StatusExited, got.Status)
	data, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Len(t, decodeStream(t, data), 2)
}

func TestJournalCompacts(t *testing.T) {
	s := newTestStore(t)
	st := &State{ID: "c1", Env: []string{strings.Repeat("x", 4000)}}
	require.NoError(t, s.create(st))
	for i := range 100 {
		st.ExitCode = i
		require.NoError(t, s.update(st))
	}
	path := filepath.Join(s.containerDir("c1"), stateFile)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.LessOrEqual(t, info.Size(), int64(journalCompactSize))
	got, err := readState(path)
	require.NoError(t, err)
	assert.Equal(t, 99, got.ExitCode)
	entries, err := os.ReadDir(s.containerDir("c1"))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left")
}

func TestJournalUpdateMissing(t *testing.T) {
	s := newTestStore(t)
	err := s.update(&State{ID: "gone"})
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// TestJournalConcurrent has writers (compacting now and then) and readers
// on one journal: readers always find a complete state, and the last
// write wins.
func TestJournalConcurrent(t *testing.T) {
	s := newTestStore(t)
	pad := []string{strings.Repeat("y", 2000)}
	require.NoError(t, s.create(&State{ID: "c1", Env: pad}))
	path := filepath.Join(s.containerDir("c1"), stateFile)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if err := s.update(&State{ID: "c1", PID: w*1000 + i, Env: pad}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var rg sync.WaitGroup
	for range 2 {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := readState(path); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := readState(path)
	require.NoError(t, err)
	assert.Equal(t, 49, got.PID%1000)
}

func TestIDShapeMatchesRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)
	ids := []string{"", "a", "A9", "_a", ".a", "-a", "a_b.c-d", "a b", "a/b", "é", "a\x00",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "0" + strings.Repeat("-", 127), "a\n"}
	for _, id := range ids {
		assert.Equal(t, re.MatchString(id), validID.MatchString(id), "%q", id)
	}
}
