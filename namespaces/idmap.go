package namespaces

import (
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// IDMap maps a range of user or group IDs inside a user namespace to a
// range outside it: IDs ContainerID to ContainerID+Size-1 inside are
// HostID to HostID+Size-1 in the parent namespace. It is one line of
// /proc/PID/uid_map or gid_map ([user_namespaces(7)]). The zero IDMap maps
// nothing and is invalid.
//
// [user_namespaces(7)]: https://man7.org/linux/man-pages/man7/user_namespaces.7.html
type IDMap struct {
	ContainerID uint32
	HostID      uint32
	Size        uint32
}

// maxIDMapLines is the kernel's limit on the lines of one map (Linux 4.15+).
const maxIDMapLines = 340

// formatIDMaps renders maps as the text the kernel expects in one write,
// after checking them: at least one range, none empty or wrapping around,
// no two overlapping on either side, at most 340.
func formatIDMaps(maps []IDMap) (string, error) {
	if len(maps) == 0 {
		return "", fmt.Errorf("empty ID map: %w", fs.ErrInvalid)
	}
	if len(maps) > maxIDMapLines {
		return "", fmt.Errorf("ID map has %d ranges, more than %d: %w", len(maps), maxIDMapLines, fs.ErrInvalid)
	}
	var b strings.Builder
	for i, m := range maps {
		if err := m.validate(); err != nil {
			return "", err
		}
		for _, o := range maps[:i] {
			if overlaps(m.ContainerID, o.ContainerID, m.Size, o.Size) || overlaps(m.HostID, o.HostID, m.Size, o.Size) {
				return "", fmt.Errorf("ID map ranges %v and %v overlap: %w", o, m, fs.ErrInvalid)
			}
		}
		b.WriteString(strconv.FormatUint(uint64(m.ContainerID), 10) + " " +
			strconv.FormatUint(uint64(m.HostID), 10) + " " + strconv.FormatUint(uint64(m.Size), 10) + "\n")
	}
	return b.String(), nil
}

func (m IDMap) validate() error {
	if m.Size == 0 {
		return fmt.Errorf("ID map range %v is empty: %w", m, fs.ErrInvalid)
	}
	if uint64(m.ContainerID)+uint64(m.Size) > 1<<32 || uint64(m.HostID)+uint64(m.Size) > 1<<32 {
		return fmt.Errorf("ID map range %v goes past 2^32: %w", m, fs.ErrInvalid)
	}
	return nil
}

func overlaps(a, b, sa, sb uint32) bool {
	return uint64(a) < uint64(b)+uint64(sb) && uint64(b) < uint64(a)+uint64(sa)
}

// String returns the range as "container:host:size", such as "0:100000:65536".
func (m IDMap) String() string {
	return fmt.Sprintf("%d:%d:%d", m.ContainerID, m.HostID, m.Size)
}

// helperArgs renders maps as arguments of newuidmap(1) or newgidmap(1):
// the PID followed by "inside outside count" triples.
func helperArgs(pid int, maps []IDMap) []string {
	args := []string{strconv.Itoa(pid)}
	for _, m := range maps {
		args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10),
			strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
	}
	return args
}
