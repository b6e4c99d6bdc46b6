package namespaces

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// mountInfo is one line of /proc/PID/mountinfo ([proc_pid_mountinfo(5)]).
//
// [proc_pid_mountinfo(5)]: https://man7.org/linux/man-pages/man5/proc_pid_mountinfo.5.html
type mountInfo struct {
	ID, Parent   int
	Root         string
	MountPoint   string
	Options      []string
	FSType       string
	Source       string
	SuperOptions []string
}

// parseMountInfo reads mountinfo lines from r. A malformed line gives an
// error wrapping fs.ErrInvalid that names the line.
func parseMountInfo(r io.Reader) ([]mountInfo, error) {
	return parseMountInfoOf(r, nil)
}

// parseMountInfoOf is parseMountInfo keeping only the lines whose file
// system type is in types (all when types is nil); the others are skipped
// without being parsed.
func parseMountInfoOf(r io.Reader, types []string) ([]mountInfo, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var out []mountInfo
	for n, line := 1, ""; len(data) > 0; n++ {
		line, data = cutLine(data)
		if types != nil && !slices.Contains(types, fsTypeOf(line)) {
			continue
		}
		m, err := parseMountInfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// fsTypeOf returns the file system type of a mountinfo line: the word
// after the " - " separator; "" if there is none.
func fsTypeOf(line string) string {
	_, rest, ok := strings.Cut(line, " - ")
	if !ok {
		return ""
	}
	typ, _, _ := strings.Cut(rest, " ")
	return typ
}

// cutLine splits off the first line of data, without its newline.
func cutLine(data []byte) (string, []byte) {
	line, rest, _ := bytes.Cut(data, []byte{'\n'})
	return string(line), rest
}

func parseMountInfoLine(line string) (mountInfo, error) {
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || len(f) < sep+4 {
		return mountInfo{}, fmt.Errorf("%q: %w", line, fs.ErrInvalid)
	}
	id, err1 := strconv.Atoi(f[0])
	parent, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return mountInfo{}, fmt.Errorf("%q: bad mount ID: %w", line, fs.ErrInvalid)
	}
	return mountInfo{
		ID: id, Parent: parent,
		Root:         unescapeMountInfo(f[3]),
		MountPoint:   unescapeMountInfo(f[4]),
		Options:      strings.Split(f[5], ","),
		FSType:       f[sep+1],
		Source:       unescapeMountInfo(f[sep+2]),
		SuperOptions: strings.Split(f[sep+3], ","),
	}, nil
}

// unescapeMountInfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountInfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
