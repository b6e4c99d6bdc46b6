package dockerfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MountType is the type of a RUN --mount.
type MountType string

// The mount types RUN --mount accepts.
const (
	MountBind   MountType = "bind"
	MountCache  MountType = "cache"
	MountTmpfs  MountType = "tmpfs"
	MountSecret MountType = "secret"
	MountSSH    MountType = "ssh"
)

// Mount is one RUN --mount=... flag, parsed. The zero Mount is not
// meaningful; [ParseMount] fills the defaults (type bind, read-only for
// bind, secret and ssh).
type Mount struct {
	// Raw is the flag value as written.
	Raw string
	// Type is bind, cache, tmpfs, secret or ssh. It is "" in a Run from
	// Parse when the flag uses variables: such a flag is parsed only once
	// expanded, by [Scope.Apply]; until then only Raw is set.
	Type MountType
	// From is the stage or image the source comes from (bind, cache).
	From string
	// Source is the path in From (bind, cache) or the secret/ssh ID's
	// source.
	Source string
	// Target is the mount point in the container.
	Target string
	// ReadOnly is the effective read-only setting.
	ReadOnly bool
	// SizeLimit is a tmpfs size in bytes; 0 means unlimited.
	SizeLimit int64
	// ID is the cache ID, or the secret/ssh ID.
	ID string
	// Sharing is the cache sharing mode: "shared", "private", "locked";
	// "" when not given (shared).
	Sharing string
	// Required fails the build when a secret or ssh socket is missing.
	Required bool
	// Env names an environment variable to expose a secret in; nil when
	// not given.
	Env *string
	// Mode, UID and GID set the mount point's file mode and owner
	// (secret, ssh, cache); nil when not given.
	Mode *uint64
	UID  *uint64
	GID  *uint64
}

var mountKeys = []string{"type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env"}

// ParseMount parses the value of a RUN --mount flag
// ("type=cache,target=/root/.cache,sharing=locked") with BuildKit's rules
// and messages. Values are taken literally: expand variables first.
func ParseMount(value string) (*Mount, error) {
	fields, err := csvFields(value)
	if err != nil {
		return nil, fmt.Errorf("failed to parse csv mounts: %w", err)
	}
	return parseMountFields(value, fields)
}

func parseMountFields(value string, fields []string) (*Mount, error) {
	m := &Mount{Raw: value, Type: MountBind}
	roAuto := true
	for _, field := range fields {
		key, val, ok := strings.Cut(field, "=")
		key = strings.ToLower(key)
		if !ok {
			if err := m.setFlag(key, field, &roAuto); err != nil {
				return nil, err
			}
			continue
		}
		if err := m.set(key, val, field, &roAuto); err != nil {
			return nil, err
		}
	}
	if err := m.validate(); err != nil {
		return nil, err
	}
	if roAuto {
		m.ReadOnly = m.Type != MountCache && m.Type != MountTmpfs
	}
	return m, nil
}

func csvFields(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	r := csv.NewReader(strings.NewReader(s))
	r.FieldsPerRecord = -1
	return r.Read()
}

// setFlag handles a key written without "=value".
func (m *Mount) setFlag(key, field string, roAuto *bool) error {
	switch key {
	case "readonly", "ro":
		m.ReadOnly, *roAuto = true, false
	case "readwrite", "rw":
		m.ReadOnly, *roAuto = false, false
	case "required":
		if m.Type != MountSecret && m.Type != MountSSH {
			return fmt.Errorf("unexpected key '%s' for mount type '%s'", key, m.Type)
		}
		m.Required = true
	default:
		return fmt.Errorf("invalid field '%s' must be a key=value pair", field)
	}
	return nil
}

func (m *Mount) set(key, val, field string, roAuto *bool) error {
	var err error
	switch key {
	case "type":
		t := MountType(strings.ToLower(val))
		switch t {
		case MountBind, MountCache, MountTmpfs, MountSecret, MountSSH:
		default:
			return withSuggestion(fmt.Errorf("unsupported mount type %q", val), val,
				[]string{"bind", "cache", "tmpfs", "secret", "ssh"})
		}
		m.Type = t
	case "from":
		m.From = val
	case "source", "src":
		m.Source = val
	case "target", "dst", "destination":
		m.Target = val
	case "readonly", "ro", "readwrite", "rw":
		b, perr := strconv.ParseBool(val)
		if perr != nil {
			return fmt.Errorf("invalid value for %s: %s", key, val)
		}
		m.ReadOnly = b == (key == "readonly" || key == "ro")
		*roAuto = false
	case "required":
		if m.Type != MountSecret && m.Type != MountSSH {
			return fmt.Errorf("unexpected key '%s' for mount type '%s'", key, m.Type)
		}
		if m.Required, err = strconv.ParseBool(val); err != nil {
			return fmt.Errorf("invalid value for %s: %s", key, val)
		}
	case "size":
		if m.Type != MountTmpfs {
			return fmt.Errorf("unexpected key '%s' for mount type '%s'", key, m.Type)
		}
		if m.SizeLimit, err = ramInBytes(val); err != nil {
			return fmt.Errorf("invalid value for %s: %s", key, val)
		}
	case "id":
		m.ID = val
	case "sharing":
		s := strings.ToLower(val)
		if s != "shared" && s != "private" && s != "locked" {
			return withSuggestion(fmt.Errorf("unsupported sharing value %q", val), val,
				[]string{"shared", "private", "locked"})
		}
		m.Sharing = s
	case "mode":
		return m.setUint(&m.Mode, "mode", val, 8)
	case "uid":
		return m.setUint(&m.UID, "uid", val, 10)
	case "gid":
		return m.setUint(&m.GID, "gid", val, 10)
	case "env":
		v := val
		m.Env = &v
	default:
		return withSuggestion(fmt.Errorf("unexpected key '%s' in '%s'", key, field), key, mountKeys)
	}
	return nil
}

func (m *Mount) setUint(dst **uint64, name, val string, base int) error {
	v, err := strconv.ParseUint(val, base, 32)
	if err != nil {
		return fmt.Errorf("invalid value %s for %s", val, name)
	}
	*dst = &v
	return nil
}

func (m *Mount) validate() error {
	if m.Type != MountSecret && m.Type != MountSSH && m.Type != MountCache {
		for _, f := range []struct {
			name string
			v    *uint64
		}{{"mode", m.Mode}, {"uid", m.UID}, {"gid", m.GID}} {
			if f.v != nil {
				return fmt.Errorf("%s not allowed for %q type mounts", f.name, m.Type)
			}
		}
	}
	if m.Type == MountSecret {
		switch {
		case m.From != "":
			return errors.New("secret mount should not have a from")
		case m.Sharing != "":
			return errors.New("secret mount should not define sharing")
		case m.Source == "" && m.Target == "" && m.ID == "":
			return errors.New("invalid secret mount. one of source, target required")
		case m.Source != "" && m.ID != "":
			return errors.New("both source and id can't be set")
		}
	}
	if m.Sharing != "" && m.Type != MountCache {
		return fmt.Errorf("invalid cache sharing set for %v mount", m.Type)
	}
	return nil
}

func withSuggestion(err error, val string, options []string) error {
	if m := suggest(val, options, true); m != "" {
		return &suggestError{err: err, match: m}
	}
	return err
}

// ramInBytes parses a size such as "64m", "1.5g" or "512KiB" in binary
// units (k = 1024), like Docker's RAMInBytes.
func ramInBytes(s string) (int64, error) {
	i := 0
	for i < len(s) && (isDigit(s[i]) || s[i] == '.') {
		i++
	}
	num, unit := s[:i], s[i:]
	if num == "" || num[0] == '.' || num[len(num)-1] == '.' || strings.Contains(num, "..") {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	unit = strings.TrimPrefix(unit, " ")
	mult := float64(1)
	if unit != "" {
		if p := strings.IndexByte("kmgtp", lower(unit[0])); p >= 0 {
			for range p + 1 {
				mult *= 1024
			}
			unit = unit[1:]
		}
	}
	if unit != "" && (unit[0] == 'i' || unit[0] == 'I') {
		unit = unit[1:]
	}
	if unit != "" && (unit[0] == 'b' || unit[0] == 'B') {
		unit = unit[1:]
	}
	if unit != "" {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	return int64(f * mult), nil
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
