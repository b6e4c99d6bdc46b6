package namespaces

import (
	"fmt"
	"io/fs"
	"strings"
)

// Mount flags of mount(2), with Linux's values, so that options parse the
// same way on every GOOS.
const (
	msRdonly      = 0x1
	msNosuid      = 0x2
	msNodev       = 0x4
	msNoexec      = 0x8
	msSynchronous = 0x10
	msRemount     = 0x20
	msMandlock    = 0x40
	msDirsync     = 0x80
	msNosymfollow = 0x100
	msNoatime     = 0x400
	msNodiratime  = 0x800
	msBind        = 0x1000
	msRec         = 0x4000
	msUnbindable  = 0x20000
	msPrivate     = 0x40000
	msSlave       = 0x80000
	msShared      = 0x100000
	msRelatime    = 0x200000
	msStrictatime = 0x1000000
	msLazytime    = 0x2000000

	// msAtimeMask is the set of flags that pick how atime is updated.
	msAtimeMask = msNoatime | msRelatime | msStrictatime
)

// flagWords maps the mount(8) words that set (set true) or clear a flag.
var flagWords = map[string]struct {
	flag uintptr
	set  bool
}{
	"ro": {msRdonly, true}, "rw": {msRdonly, false},
	"nosuid": {msNosuid, true}, "suid": {msNosuid, false},
	"nodev": {msNodev, true}, "dev": {msNodev, false},
	"noexec": {msNoexec, true}, "exec": {msNoexec, false},
	"sync": {msSynchronous, true}, "async": {msSynchronous, false},
	"dirsync": {msDirsync, true},
	"mand":    {msMandlock, true}, "nomand": {msMandlock, false},
	"noatime": {msNoatime, true}, "atime": {msNoatime, false},
	"nodiratime": {msNodiratime, true}, "diratime": {msNodiratime, false},
	"relatime": {msRelatime, true}, "norelatime": {msRelatime, false},
	"strictatime": {msStrictatime, true}, "nostrictatime": {msStrictatime, false},
	"lazytime": {msLazytime, true}, "nolazytime": {msLazytime, false},
	"nosymfollow": {msNosymfollow, true}, "symfollow": {msNosymfollow, false},
}

// propagationWords maps the propagation words to their flags.
var propagationWords = map[string]uintptr{
	"private": msPrivate, "rprivate": msPrivate | msRec,
	"slave": msSlave, "rslave": msSlave | msRec,
	"shared": msShared, "rshared": msShared | msRec,
	"unbindable": msUnbindable, "runbindable": msUnbindable | msRec,
}

// mountOptions is a Mount's option list, parsed.
type mountOptions struct {
	flags       uintptr   // the mount(2) flags, MS_BIND and MS_REC included
	propagation []uintptr // propagation changes, in order, applied after the mount
	data        string    // the file-system-specific options, comma-joined
}

func (o mountOptions) bind() bool      { return o.flags&msBind != 0 }
func (o mountOptions) readOnly() bool  { return o.flags&msRdonly != 0 }
func (o mountOptions) recursive() bool { return o.flags&msRec != 0 }

// parseMountOptions sorts mount(8) option words into flags, propagation
// changes and data. "defaults" is ignored; an empty word is an error wrapping
// fs.ErrInvalid; any other word is data for the file system. Later words win
// over earlier ones, as with mount(8).
func parseMountOptions(words []string) (mountOptions, error) {
	var o mountOptions
	var data []string
	for _, w := range words {
		switch {
		case w == "":
			return mountOptions{}, fmt.Errorf("empty mount option in %q: %w", words, fs.ErrInvalid)
		case w == "defaults":
		case w == "bind":
			o.flags |= msBind
		case w == "rbind":
			o.flags |= msBind | msRec
		case flagWords[w].flag != 0:
			fw := flagWords[w]
			if fw.set {
				if fw.flag&msAtimeMask != 0 {
					o.flags &^= msAtimeMask
				}
				o.flags |= fw.flag
			} else {
				o.flags &^= fw.flag
			}
		case propagationWords[w] != 0:
			o.propagation = append(o.propagation, propagationWords[w])
		default:
			data = append(data, w)
		}
	}
	o.data = strings.Join(data, ",")
	return o, nil
}

// parsePropagation turns RootFS.Propagation into mount flags; "" is rslave.
func parsePropagation(p string) (uintptr, error) {
	if p == "" {
		return msSlave | msRec, nil
	}
	if f, ok := propagationWords[p]; ok && f&msUnbindable == 0 {
		return f, nil
	}
	return 0, fmt.Errorf("root propagation %q: not one of private, rprivate, slave, rslave, shared, rshared: %w",
		p, fs.ErrInvalid)
}
