package layers

import "strings"

// Mount is one mount as data: what [Snapshotter.Prepare], View and Mounts
// return and [MountAll] performs. It is containerd's "lingua franca" and
// maps directly onto mount(8): mount -t Type -o Options Source Target.
type Mount struct {
	// Type is the filesystem type: "overlay", or "bind" for a bind mount.
	Type string
	// Source is the device or directory; "overlay" for overlay mounts.
	Source string
	// Target is the mountpoint relative to the target given to MountAll;
	// "" is that target itself.
	Target string
	// Options are mount(8) options: flags such as "ro", "rbind",
	// "nosuid", and filesystem data such as "lowerdir=...".
	Options []string
}

// option returns the value of the first "key=value" option.
func (m Mount) option(key string) (string, bool) {
	for _, o := range m.Options {
		if v, ok := strings.CutPrefix(o, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// ReadOnly reports whether m has the "ro" option or is an overlay without
// an upper dir.
func (m Mount) ReadOnly() bool {
	for _, o := range m.Options {
		if o == "ro" {
			return true
		}
	}
	_, upper := m.option("upperdir")
	return m.Type == "overlay" && !upper
}

// UpperDir returns the directory that holds the changes made through ms:
// the upper dir of an overlay mount, or the source of a writable bind
// mount. It returns "" for read-only mounts.
func UpperDir(ms []Mount) string {
	if len(ms) != 1 || ms[0].ReadOnly() {
		return ""
	}
	if ms[0].Type == "overlay" {
		v, _ := ms[0].option("upperdir")
		return v
	}
	return ms[0].Source
}

// LowerDirs returns the lower directories of an overlay mount, top first,
// or the source of a bind mount.
func LowerDirs(m Mount) []string {
	if m.Type != "overlay" {
		return []string{m.Source}
	}
	v, _ := m.option("lowerdir")
	return strings.Split(v, ":")
}
