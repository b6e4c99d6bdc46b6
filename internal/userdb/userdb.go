// Package userdb resolves a Docker-style user specification ("name",
// "uid", "name:group", "uid:gid", ...) against the passwd and group
// databases of a container's root filesystem.
//
// The parsers take io.Readers, so callers decide how the files are opened.
// Berth opens them inside the container after pivot_root, where "/" is the
// container's root, so a symlinked /etc/passwd cannot reach the host.
// Each database is read up to [MaxFileSize] bytes; longer files are an error.
package userdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxFileSize bounds how much of /etc/passwd or /etc/group is read.
const MaxFileSize = 4 << 20

// ErrUnknownUser is wrapped by errors for a user name, or a group name,
// that the databases do not list.
var ErrUnknownUser = errors.New("unknown user or group")

// User is one line of a passwd file.
type User struct {
	Name  string
	UID   uint32
	GID   uint32
	Home  string
	Shell string
}

// Group is one line of a group file.
type Group struct {
	Name    string
	GID     uint32
	Members []string
}

// ParsePasswd reads passwd(5) lines from r. Malformed lines (a wrong field
// count or a non-numeric ID) are skipped, like glibc does; comments and
// blank lines too.
func ParsePasswd(r io.Reader) ([]User, error) {
	var users []User
	err := scanLines(r, func(f []string) {
		if len(f) < 7 {
			return
		}
		uid, err1 := parseID(f[2])
		gid, err2 := parseID(f[3])
		if err1 != nil || err2 != nil || f[0] == "" {
			return
		}
		users = append(users, User{Name: f[0], UID: uid, GID: gid, Home: f[5], Shell: f[6]})
	})
	if err != nil {
		return nil, fmt.Errorf("reading passwd: %w", err)
	}
	return users, nil
}

// ParseGroup reads group(5) lines from r, skipping malformed ones.
func ParseGroup(r io.Reader) ([]Group, error) {
	var groups []Group
	err := scanLines(r, func(f []string) {
		if len(f) < 4 {
			return
		}
		gid, err := parseID(f[2])
		if err != nil || f[0] == "" {
			return
		}
		g := Group{Name: f[0], GID: gid}
		for _, m := range strings.Split(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				g.Members = append(g.Members, m)
			}
		}
		groups = append(groups, g)
	})
	if err != nil {
		return nil, fmt.Errorf("reading group: %w", err)
	}
	return groups, nil
}

func scanLines(r io.Reader, fn func(fields []string)) error {
	if r == nil {
		return nil
	}
	lr := &io.LimitedReader{R: r, N: MaxFileSize + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.Split(line, ":"))
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if lr.N <= 0 {
		return fmt.Errorf("file larger than %d bytes", MaxFileSize)
	}
	return nil
}

// parseID parses a decimal uid or gid; 4294967295 ((uid_t)-1) is refused
// because the kernel reserves it.
func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, err
	}
	if n == 0xFFFFFFFF {
		return 0, fmt.Errorf("id %s is reserved", s)
	}
	return uint32(n), nil
}
