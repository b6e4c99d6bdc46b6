package cgroups

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// v1 freeze, kill and events.

func (d *v1) freezerDir() (string, error) {
	dir := d.dir("freezer")
	ok := dir != ""
	if !ok {
		return "", fmt.Errorf("no cgroup v1 hierarchy with the freezer controller: %w", errors.ErrUnsupported)
	}
	return dir, nil
}

// freeze writes FROZEN and waits for freezer.state to say FROZEN, writing
// again while it says FREEZING (a task in an uninterruptible sleep can
// hold the transition up).
func (d *v1) freeze(ctx context.Context) error {
	dir, err := d.freezerDir()
	if err != nil {
		return err
	}
	err = poll(ctx, func() (bool, error) {
		if err := d.w.write(dir, "freezer.state", "FROZEN"); err != nil {
			return false, err
		}
		state, err := readString(dir, "freezer.state")
		return strings.TrimSpace(state) == "FROZEN", err
	})
	if err != nil {
		return errors.Join(err, d.thaw())
	}
	return nil
}

func (d *v1) thaw() error {
	dir, err := d.freezerDir()
	if err != nil {
		return err
	}
	return d.w.write(dir, "freezer.state", "THAWED")
}

func (d *v1) kill(ctx context.Context) error {
	if d.exists() != nil {
		return nil
	}
	hasFreezer := d.dir("freezer") != ""
	return killLoop(ctx, d, hasFreezer)
}

// events registers an eventfd for memory.oom_control through
// cgroup.event_control. The kernel signals it on each OOM in the group and
// when the group is removed.
func (d *v1) events(ctx context.Context) (_ <-chan Event, retErr error) {
	dir := d.dir("memory")
	ok := dir != ""
	if !ok {
		return nil, fmt.Errorf("no cgroup v1 hierarchy with the memory controller: %w", errors.ErrUnsupported)
	}
	oomFile := filepath.Join(dir, "memory.oom_control")
	oom, err := os.Open(oomFile)
	if err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			oom.Close()
		}
	}()
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, &fs.PathError{Op: "eventfd", Path: oomFile, Err: err}
	}
	ev := os.NewFile(uintptr(efd), "eventfd:"+oomFile)
	if err := d.w.write(dir, "cgroup.event_control", fmt.Sprintf("%d %d", efd, oom.Fd())); err != nil {
		ev.Close()
		return nil, err
	}
	ch := make(chan Event)
	go d.watchOOM(ctx, ev, oom, ch)
	return ch, nil
}

func (d *v1) watchOOM(ctx context.Context, ev, oom *os.File, ch chan<- Event) {
	defer close(ch)
	defer oom.Close()
	defer ev.Close()
	stop := context.AfterFunc(ctx, func() { ev.Close() })
	defer stop()
	var e Event
	var buf [8]byte
	for {
		if _, err := ev.Read(buf[:]); err != nil || ctx.Err() != nil {
			return
		}
		kills, err := readOOMKills(oom.Name())
		if err != nil { // the group was removed
			return
		}
		e.OOM += binary.NativeEndian.Uint64(buf[:])
		e.OOMKill = kills
		if !send(ctx, ch, e) || !d.settle(ctx, oom.Name(), &e, ch) {
			return
		}
	}
}

// settle re-reads oom_kill for a short while after a notification: the
// kernel notifies before the OOM killer has picked and counted a victim.
// It reports false when ctx ended.
func (d *v1) settle(ctx context.Context, file string, e *Event, ch chan<- Event) bool {
	t := time.NewTimer(0)
	defer t.Stop()
	for range 25 {
		t.Reset(20 * time.Millisecond)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
		kills, err := readOOMKills(file)
		if err != nil {
			return true // removed: the next read of the eventfd ends the watch
		}
		if kills != e.OOMKill {
			e.OOMKill = kills
			return send(ctx, ch, *e)
		}
	}
	return true
}

func readOOMKills(file string) (uint64, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	var s MemoryStats
	err = parseV1OOMControl(file, data, &s)
	return s.OOMKill, err
}

// send sends e unless ctx ends first.
func send(ctx context.Context, ch chan<- Event, e Event) bool {
	select {
	case ch <- e:
		return true
	case <-ctx.Done():
		return false
	}
}
