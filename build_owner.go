package berth

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/namespaces"
)

// owner is a numeric user and group.
type owner struct{ uid, gid int }

// resolveChown turns a --chown value ("user[:group]", names or IDs) into
// numbers, reading names from the /etc/passwd and /etc/group of the tree
// at dir, as BuildKit does: a user ID alone gives the same group ID, a
// user name alone its primary group. "" gives nil (no change).
func resolveChown(spec, dir string) (*owner, error) {
	if spec == "" {
		return nil, nil
	}
	usr, grp, hasGroup := strings.Cut(spec, ":")
	var o owner
	if id, err := strconv.ParseUint(usr, 10, 32); err == nil {
		o.uid, o.gid = int(id), int(id)
	} else {
		fields, err := lookupDB(dir, "/etc/passwd", usr)
		if err != nil || len(fields) < 4 {
			return nil, fmt.Errorf("--chown=%s: user %q: %w", spec, usr, notFoundOr(err))
		}
		if o.uid, err = strconv.Atoi(fields[2]); err != nil {
			return nil, fmt.Errorf("--chown=%s: user %q has uid %q: %w", spec, usr, fields[2], fs.ErrInvalid)
		}
		if o.gid, err = strconv.Atoi(fields[3]); err != nil {
			return nil, fmt.Errorf("--chown=%s: user %q has gid %q: %w", spec, usr, fields[3], fs.ErrInvalid)
		}
	}
	if !hasGroup {
		return &o, nil
	}
	if id, err := strconv.ParseUint(grp, 10, 32); err == nil {
		o.gid = int(id)
		return &o, nil
	}
	fields, err := lookupDB(dir, "/etc/group", grp)
	if err != nil || len(fields) < 3 {
		return nil, fmt.Errorf("--chown=%s: group %q: %w", spec, grp, notFoundOr(err))
	}
	if o.gid, err = strconv.Atoi(fields[2]); err != nil {
		return nil, fmt.Errorf("--chown=%s: group %q has gid %q: %w", spec, grp, fields[2], fs.ErrInvalid)
	}
	return &o, nil
}

func notFoundOr(err error) error {
	if err == nil {
		return fs.ErrNotExist
	}
	return err
}

// lookupDB returns the fields of the line of file (a passwd-style
// database inside the tree at dir) whose first field is name; nil if
// there is none.
func lookupDB(dir, file, name string) ([]string, error) {
	if dir == "" {
		return nil, fmt.Errorf("no %s in an empty image: %w", file, fs.ErrNotExist)
	}
	p, err := namespaces.SecureJoin(dir, file)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if fields[0] == name {
			return fields, nil
		}
	}
	return nil, sc.Err()
}

// chmodSpec is a --chmod value: octal ("0755") or symbolic ("u+x,go-w").
type chmodSpec struct {
	octal   int64
	clauses []chmodClause
}

type chmodClause struct {
	who   int64 // the bits of u, g, o the clause touches
	op    byte  // '+', '-' or '='
	perms string
}

// parseChmod parses --chmod; "" gives nil.
func parseChmod(s string) (*chmodSpec, error) {
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.ParseUint(s, 8, 32); err == nil {
		if n > 0o7777 {
			return nil, fmt.Errorf("--chmod=%s: mode out of range: %w", s, fs.ErrInvalid)
		}
		return &chmodSpec{octal: int64(n)}, nil
	}
	c := &chmodSpec{octal: -1}
	for _, part := range strings.Split(s, ",") {
		cl, err := parseChmodClause(part)
		if err != nil {
			return nil, fmt.Errorf("--chmod=%s: %w", s, err)
		}
		c.clauses = append(c.clauses, cl)
	}
	return c, nil
}

func parseChmodClause(part string) (chmodClause, error) {
	var cl chmodClause
	i := 0
	for ; i < len(part) && strings.IndexByte("ugoa", part[i]) >= 0; i++ {
		switch part[i] {
		case 'u':
			cl.who |= 0o4700
		case 'g':
			cl.who |= 0o2070
		case 'o':
			cl.who |= 0o1007
		case 'a':
			cl.who |= 0o7777
		}
	}
	if cl.who == 0 {
		cl.who = 0o7777
	}
	if i >= len(part) || strings.IndexByte("+-=", part[i]) < 0 {
		return cl, fmt.Errorf("invalid mode %q: %w", part, fs.ErrInvalid)
	}
	cl.op, cl.perms = part[i], part[i+1:]
	for _, r := range cl.perms {
		if !strings.ContainsRune("rwxXst", r) {
			return cl, fmt.Errorf("invalid mode %q: %w", part, fs.ErrInvalid)
		}
	}
	return cl, nil
}

// apply returns mode changed by the spec.
func (c *chmodSpec) apply(mode int64, isDir bool) int64 {
	if c.octal >= 0 {
		return c.octal
	}
	for _, cl := range c.clauses {
		var bits int64
		for _, r := range cl.perms {
			switch r {
			case 'r':
				bits |= 0o444
			case 'w':
				bits |= 0o222
			case 'x':
				bits |= 0o111
			case 'X':
				if isDir || mode&0o111 != 0 {
					bits |= 0o111
				}
			case 's':
				bits |= 0o6000
			case 't':
				bits |= 0o1000
			}
		}
		bits &= cl.who
		switch cl.op {
		case '+':
			mode |= bits
		case '-':
			mode &^= bits
		case '=':
			mode = mode&^(cl.who&0o777) | bits
		}
	}
	return mode
}
