package cgroups

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// v2 freeze, kill and events.

func (d *v2) freeze(ctx context.Context) error {
	if err := d.w.write(d.dir, "cgroup.freeze", "1"); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no cgroup.freeze (kernel older than 5.2): %w", errors.ErrUnsupported)
		}
		return err
	}
	err := poll(ctx, func() (bool, error) { return d.eventsFlag("frozen", '1') })
	if err != nil {
		return errors.Join(err, d.thaw())
	}
	return nil
}

func (d *v2) thaw() error { return d.w.write(d.dir, "cgroup.freeze", "0") }

// eventsFlag reports whether cgroup.events has "key want" (want '0' or '1').
func (d *v2) eventsFlag(key string, want byte) (bool, error) {
	data, err := os.ReadFile(filepath.Join(d.dir, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		k, v, _ := bytes.Cut(line, []byte{' '})
		if string(k) == key {
			return len(v) == 1 && v[0] == want, nil
		}
	}
	return false, nil
}

func (d *v2) kill(ctx context.Context) error {
	if !exists(d.dir) {
		return nil
	}
	if !exists(filepath.Join(d.dir, "cgroup.kill")) {
		return killLoop(ctx, d, true) // before 5.14
	}
	if err := d.w.write(d.dir, "cgroup.kill", "1"); err != nil {
		return err
	}
	return poll(ctx, func() (bool, error) {
		done, err := d.eventsFlag("populated", '0')
		if errors.Is(err, fs.ErrNotExist) {
			return true, nil
		}
		return done, err
	})
}

// events watches memory.events with inotify.
func (d *v2) events(ctx context.Context) (<-chan Event, error) {
	file := filepath.Join(d.dir, "memory.events")
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "inotify_init1", Path: file, Err: err}
	}
	// The kernel notifies changes of memory.events, but neither the
	// removal of the file with its group nor IN_DELETE_SELF on the group;
	// the parent's watch does see the rmdir.
	for _, w := range []struct {
		path string
		mask uint32
	}{{file, unix.IN_MODIFY}, {filepath.Dir(d.dir), unix.IN_DELETE | unix.IN_ONLYDIR}} {
		if _, err := unix.InotifyAddWatch(fd, w.path, w.mask); err != nil {
			unix.Close(fd)
			return nil, &fs.PathError{Op: "inotify_add_watch", Path: w.path, Err: err}
		}
	}
	f := os.NewFile(uintptr(fd), "inotify:"+file)
	var last Event
	if data, err := os.ReadFile(file); err == nil {
		_ = parseV2MemoryEvents(file, data, &last)
	}
	ch := make(chan Event)
	go d.watch(ctx, f, file, last, ch)
	return ch, nil
}

func (d *v2) watch(ctx context.Context, f *os.File, file string, last Event, ch chan<- Event) {
	defer close(ch)
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		if err != nil || n < unix.SizeofInotifyEvent || ctx.Err() != nil {
			return
		}
		data, err := os.ReadFile(file)
		if err != nil { // the group was removed
			return
		}
		var e Event
		if parseV2MemoryEvents(file, data, &e) != nil || e == last {
			continue
		}
		last = e
		select {
		case ch <- e:
		case <-ctx.Done():
			return
		}
	}
}
