package berth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/namespaces"
)

// thread is the locked OS thread that becomes the container's side of
// the start. It never unlocks: its goroutine's end ends the thread.
func (d *directStart) thread() {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread never ends (a goroutine that exits locked to it
		// leaves it wedged, with its namespaces, which /proc/self shows):
		// hand over to another thread, which cannot be this one while it
		// stays locked here.
		locked := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(locked)
			d.body()
		}()
		<-locked
		runtime.UnlockOSThread()
		return
	}
	d.body()
}

func (d *directStart) body() {
	if <-d.begin == nil {
		runtime.UnlockOSThread() // nothing changed on it
		return
	}
	err := d.run()
	if err != nil {
		d.result <- err
		return
	}
	d.result <- nil
	<-d.release // the child's death signal follows this thread
}

func (d *directStart) run() error {
	defer d.leaveCgroup()
	// The host's /proc, to find the child's PID namespace once the root
	// is pivoted.
	hostProc, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		err = &InitError{Stage: initproto.StageStart, Err: &fs.PathError{Op: "open", Path: "/proc", Err: err}}
		d.nsReady <- directEvent{err: err}
		return err
	}
	d.hostProc = hostProc
	defer unix.Close(hostProc)
	flags := uintptr(namespaces.All&^(namespaces.PID|namespaces.Cgroup)&^d.st.Share) | unix.CLONE_FS
	if err := unix.Unshare(int(flags)); err != nil {
		err = &InitError{Stage: initproto.StageStart, Err: &fs.PathError{Op: "unshare", Path: namespaces.Kind(flags &^ unix.CLONE_FS).String(), Err: err}}
		d.nsReady <- directEvent{err: err}
		return err
	}
	d.nsReady <- directEvent{tid: unix.Gettid()}
	if !d.early {
		if err := d.hostAndMove(); err != nil {
			d.forked <- directEvent{err: err} // the parent waits for this event
			return err
		}
		// The parent has set the root directory (an image's snapshot is
		// mounted on one in the state directory) and the cgroup now.
		d.st = *d.s.st
	}
	ev, pipes, path, sp := d.forkChild()
	if pipes != nil {
		defer pipes.close()
	}
	d.forked <- ev
	if ev.err != nil {
		return ev.err
	}
	if err := d.finishRoot(ev.pid); err != nil {
		return err
	}
	select {
	case err := <-d.hostDone:
		if err != nil {
			return err
		}
	case <-d.abort:
		return errors.New("start cancelled")
	}
	if _, err := unix.Write(pipes.goW, []byte{1}); err != nil {
		return &InitError{Stage: initproto.StageHandshake, Err: &fs.PathError{Op: "write", Path: "start pipe", Err: err}}
	}
	// While the child does its last steps and execs.
	if err := d.leaveCgroup(); err != nil {
		return err
	}
	return readChildError(pipes.errR, path, sp)
}

// leaveCgroup moves the thread out of the container's cgroup if it is in,
// closes the move's files and tells the parent, which waits for that
// before it removes the cgroup (see starting.undo). It does all this once;
// later calls return nil.
func (d *directStart) leaveCgroup() error {
	if d.move == nil {
		d.outOnce.Do(func() { close(d.out) })
		return nil
	}
	var err error
	if d.entered {
		if err = d.move.Leave(); err != nil {
			err = &InitError{Stage: initproto.StageCgroup, Err: err}
		}
		d.entered = false
	}
	d.move.Close()
	d.move = nil
	d.outOnce.Do(func() { close(d.out) })
	return err
}

// forkChild sets the container up and forks its process, from inside the
// container's cgroup on v1 (see cgroupMove): the thread stays in until
// leaveCgroup. A child forked before a failure is in the event with the
// error, for the parent to reap.
func (d *directStart) forkChild() (ev directEvent, pipes *childPipes, path string, sp *childSpec) {
	sp, path, err := d.setup()
	if err != nil {
		return directEvent{err: err}, nil, "", nil
	}
	move := d.move
	pipes, err = newChildPipes()
	if err != nil {
		return directEvent{err: &InitError{Stage: initproto.StageStart, Err: err}}, nil, "", nil
	}
	sp.goFD, sp.errFD = pipes.goR, pipes.errW
	sp.closeRanges = closeRangesExcept(append([]int{sp.goFD, sp.errFD}, sp.fds...))
	if pipes.stack, err = childStack(); err != nil {
		return directEvent{err: &InitError{Stage: initproto.StageStart, Err: err}}, pipes, "", nil
	}
	pipes.sp, sp.sharedMemory = sp, pipes.stack != nil
	if move != nil {
		if err := move.Enter(); err != nil {
			return directEvent{err: &InitError{Stage: initproto.StageCgroup, Err: err}}, pipes, "", nil
		}
		d.entered = true
	}
	pid, pidfd, err := d.fork(sp, pipes.stack)
	pipes.closeErrW()
	return directEvent{pid: pid, pidfd: pidfd, err: err}, pipes, path, sp
}

// cgroupMove prepares, on cgroup v1, the move of this thread into the
// container's cgroup for the fork, so that the child is born there: the
// thread moves itself, which the kernel does without the global lock
// whose first taking waits for an RCU grace period. It stays in from the
// clone until it lets the child go, and moves back while the child execs
// (leaveCgroup): what it allocates meanwhile, the child's /proc mount, is
// charged to the container, as the container's own. The files are opened
// now, while the host's cgroup mounts are reachable.
func (d *directStart) cgroupMove() (*cgroups.ThreadMove, error) {
	if !d.s.threadJoined() {
		return nil, nil
	}
	m, err := d.s.host.group.PrepareThreadMove()
	if err != nil {
		return nil, &InitError{Stage: initproto.StageCgroup, Err: err}
	}
	return m, nil
}

// waitHost waits until the state, the cgroup and the files exist.
func (d *directStart) waitHost() error {
	select {
	case <-d.hostReady:
		return nil
	case <-d.abort:
		return errors.New("start cancelled")
	}
}

// beforeMount is the root setup's hook of an early start: the thread
// sets the root up while the parent makes the state and the cgroup, and
// waits for them before the first mount that needs them, the cgroup
// view; there, while the host's cgroup mounts are still reachable, it
// prepares its move into the container's cgroup.
func (d *directStart) beforeMount(m namespaces.MountSpec) error {
	if m.Type != "cgroup" || d.hostWaited {
		return nil
	}
	return d.hostAndMove()
}

// hostAndMove waits for the host side, then prepares the cgroup move.
func (d *directStart) hostAndMove() error {
	if err := d.waitHost(); err != nil {
		return err
	}
	d.hostWaited = true
	move, err := d.cgroupMove()
	d.move = move
	return err
}

// finishRoot mounts the container's /proc once its PID namespace exists.
func (d *directStart) finishRoot(pid int) error {
	if !d.rootfs().DeferProc {
		return nil
	}
	fd, err := unix.Openat(d.hostProc, fmt.Sprintf("%d/ns/pid", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &InitError{Stage: initproto.StageRootFS, Err: &fs.PathError{Op: "open", Path: fmt.Sprintf("/proc/%d/ns/pid", pid), Err: err}}
	}
	ns := os.NewFile(uintptr(fd), "pidns")
	defer ns.Close()
	return atStageErr(initproto.StageRootFS, d.rootfs().MountProc(ns))
}

func (d *directStart) rootfs() *rootfsConfig {
	if d.s.direct == nil {
		var etc []namespaces.MountSpec
		if !d.early {
			etc = d.s.store.etcMounts(&d.st)
		}
		r := rootfsConfigOf(&d.st, etc)
		r.DeferProc = d.st.Share&namespaces.PID == 0
		if d.early {
			r.BeforeMount = d.beforeMount
		}
		d.s.direct = &r
	}
	return d.s.direct
}

// setup does on the thread what the re-executed init does before its
// exec: root file system, hostname, loopback, and the lookups that need
// the container's root (user, program, working directory). It returns
// the child's spec and the program's path.
func (d *directStart) setup() (*childSpec, string, error) {
	st := &d.st
	if err := atStageErr(initproto.StageRootFS, setupRootFS(d.rootfs(), st.RootFSMounts)); err != nil {
		return nil, "", err
	}
	if !d.hostWaited {
		return nil, "", &InitError{Stage: initproto.StageRootFS, Err: errors.New("the root has no cgroup view to wait at")}
	}
	if st.Hostname != "" {
		if err := unix.Sethostname([]byte(st.Hostname)); err != nil {
			return nil, "", &InitError{Stage: initproto.StageHostname, Err: &fs.PathError{Op: "sethostname", Path: st.Hostname, Err: err}}
		}
	}
	if st.Share&namespaces.Net == 0 {
		if err := atStageErr(initproto.StageNetwork, loopbackUp()); err != nil {
			return nil, "", err
		}
	}
	p := st.process(len(d.s.c.ExtraFiles))
	eu, err := lookupUser(&p)
	if err != nil {
		return nil, "", &InitError{Stage: initproto.StageUser, Err: err}
	}
	env := withDefault(p.Env, "HOME", eu.Home)
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, "", &InitError{Stage: initproto.StageExec, Err: err}
	}
	if err := checkDir(p.Dir); err != nil {
		return nil, "", &InitError{Stage: initproto.StageCwd, Err: err}
	}
	sp, err := d.spec(&p, eu.UID, eu.GID, eu.Groups, path, env)
	return sp, path, err
}

func atStageErr(stage string, err error) error {
	if err == nil {
		return nil
	}
	return &InitError{Stage: stage, Err: err}
}

// checkDir checks that the working directory exists in the container, as
// a directory, so that a bad one is reported with its stage before the
// fork.
func checkDir(dir string) error {
	if dir == "" {
		return nil
	}
	if dir[0] != '/' {
		return &fs.PathError{Op: "chdir", Path: dir, Err: errors.New("working directory must be absolute")}
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return &fs.PathError{Op: "chdir", Path: dir, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &fs.PathError{Op: "chdir", Path: dir, Err: unix.ENOTDIR}
	}
	return nil
}
