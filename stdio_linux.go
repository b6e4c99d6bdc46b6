package berth

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
)

// stdio holds the container's standard streams: what the child gets as
// fds 0, 1 and 2, and the parent's ends of the pipes made for readers and
// writers that are not files.
type stdio struct {
	child     [3]*os.File
	ownChild  [3]bool // child[i] was opened here and is closed after start
	stdinW    *os.File
	stdoutR   *os.File
	stderrR   *os.File
	closeOnce sync.Once
}

func newStdio(stdin io.Reader, stdout, stderr io.Writer, tty bool) (_ *stdio, retErr error) {
	s := &stdio{}
	defer func() {
		if retErr != nil {
			s.closeAll()
		}
	}()
	if tty {
		stdin, stdout, stderr = nil, nil, nil
	}
	var err error
	if s.child[0], s.stdinW, s.ownChild[0], err = inStream(stdin); err != nil {
		return nil, err
	}
	if s.child[1], s.stdoutR, s.ownChild[1], err = outStream(stdout); err != nil {
		return nil, err
	}
	if s.child[2], s.stderrR, s.ownChild[2], err = outStream(stderr); err != nil {
		return nil, err
	}
	return s, nil
}

func inStream(r io.Reader) (child, parent *os.File, own bool, err error) {
	switch r := r.(type) {
	case nil:
		f, err := os.Open(os.DevNull)
		return f, nil, true, err
	case *os.File:
		return r, nil, false, nil
	}
	pr, pw, err := os.Pipe()
	return pr, pw, true, err
}

func outStream(w io.Writer) (child, parent *os.File, own bool, err error) {
	switch w := w.(type) {
	case nil:
		f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		return f, nil, true, err
	case *os.File:
		return w, nil, false, nil
	}
	pr, pw, err := os.Pipe()
	return pw, pr, true, err
}

// closeChildEnds closes the descriptors only the child needs.
func (s *stdio) closeChildEnds() {
	for i, f := range s.child {
		if f != nil && s.ownChild[i] {
			f.Close()
		}
		s.child[i] = nil
	}
}

func (s *stdio) closeAll() {
	s.closeChildEnds()
	for _, f := range []*os.File{s.stdinW, s.stdoutR, s.stderrR} {
		if f != nil {
			f.Close()
		}
	}
}

// startCopies starts the goroutines that feed stdin and drain the output
// (from the pipes, or from the terminal master tty). The returned function
// waits for the output copies to end, which they do when the container's
// last process closes its side, then closes the parent's ends.
func (s *stdio) startCopies(tty *os.File, stdin io.Reader, stdout, stderr io.Writer) func() {
	var wg sync.WaitGroup
	startCopy := func(w io.Writer, r *os.File) {
		wg.Add(1)
		go copyStream(w, r, wg.Done)
	}
	if tty != nil {
		if stdin != nil {
			go func() { _, _ = io.Copy(tty, stdin) }()
		}
		if stdout != nil {
			startCopy(stdout, tty)
		}
	}
	if s.stdinW != nil {
		go func() {
			_, _ = io.Copy(s.stdinW, stdin)
			s.stdinW.Close()
		}()
	}
	if s.stdoutR != nil {
		startCopy(stdout, s.stdoutR)
	}
	if s.stderrR != nil {
		startCopy(stderr, s.stderrR)
	}
	return func() {
		wg.Wait()
		for _, f := range []*os.File{s.stdoutR, s.stderrR} {
			if f != nil {
				f.Close()
			}
		}
	}
}

// copyStream copies r (a pipe or a terminal master) to w until its end, with
// a small buffer, then calls done. It leaves r open.
func copyStream(w io.Writer, r *os.File, done func()) {
	defer done()
	_, _ = io.CopyBuffer(w, ttyEOF{r}, make([]byte, 4096))
}

// ttyEOF turns the EIO a terminal master reads once its slave is closed
// into io.EOF.
type ttyEOF struct{ r io.Reader }

func (t ttyEOF) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if errors.Is(err, syscall.EIO) {
		err = io.EOF
	}
	return n, err
}
