package reference

import (
	"fmt"
	"io/fs"
	"strings"

	_ "crypto/sha256" // register SHA-256 for digest validation
	_ "crypto/sha512" // register SHA-384 and SHA-512

	"github.com/opencontainers/go-digest"
)

// Default registry and repository prefix of Docker's normalisation.
const (
	DefaultDomain = "docker.io"
	legacyDomain  = "index.docker.io"
	officialRepo  = "library/"
	DefaultTag    = "latest"
	maxNameLength = 255
	maxTagLength  = 128
)

// Reference is a parsed, normalised image reference.
type Reference struct {
	// Domain is the registry host, with an optional port ("docker.io",
	// "localhost:5000").
	Domain string
	// Path is the repository path below the domain ("library/busybox").
	Path string
	// Tag is the tag, "" when none was given.
	Tag string
	// Digest is the content digest, "" when none was given.
	Digest digest.Digest
}

// Error is the error of a reference that does not parse. It unwraps to
// fs.ErrInvalid.
type Error struct {
	Input  string
	Reason string
}

// Error reports the input and the reason.
func (e *Error) Error() string {
	return fmt.Sprintf("invalid reference %q: %s", e.Input, e.Reason)
}

// Unwrap returns fs.ErrInvalid.
func (e *Error) Unwrap() error { return fs.ErrInvalid }

// Parse parses s with Docker's normalisation: a name without a registry
// is on docker.io, and a single-component docker.io name is in "library/".
// Tag and digest are kept as given; neither is defaulted.
func Parse(s string) (Reference, error) {
	fail := func(format string, args ...any) (Reference, error) {
		return Reference{}, &Error{Input: s, Reason: fmt.Sprintf(format, args...)}
	}
	if s == "" {
		return fail("empty reference")
	}
	rest := s
	var r Reference
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d, err := digest.Parse(rest[i+1:])
		if err != nil {
			return fail("digest %q: %v", rest[i+1:], err)
		}
		r.Digest, rest = d, rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		if reason := checkTag(rest[i+1:]); reason != "" {
			return fail("%s", reason)
		}
		r.Tag, rest = rest[i+1:], rest[:i]
	}
	if rest == "" {
		return fail("missing repository name")
	}
	explicitDomain := false
	r.Domain, r.Path, explicitDomain = splitDomain(rest)
	if reason := checkDomain(r.Domain); reason != "" {
		return fail("%s", reason)
	}
	if reason := checkPath(r.Path); reason != "" {
		return fail("%s", reason)
	}
	if len(r.Name()) > maxNameLength {
		return fail("repository name must not be more than %d characters", maxNameLength)
	}
	if !explicitDomain && r.Tag == "" && r.Digest == "" && IsFullID(rest) {
		return fail("repository name cannot be a 64-character hexadecimal string (an image ID)")
	}
	return r, nil
}

// splitDomain separates the registry from the path the way Docker does:
// the first component is a registry if it contains "." or ":", is
// "localhost", or has upper-case letters.
func splitDomain(name string) (domain, path string, explicit bool) {
	i := strings.IndexByte(name, '/')
	if i < 0 || !looksLikeDomain(name[:i]) {
		domain, path = DefaultDomain, name
	} else {
		domain, path, explicit = name[:i], name[i+1:], true
	}
	if domain == legacyDomain {
		domain = DefaultDomain
	}
	if domain == DefaultDomain && !strings.ContainsRune(path, '/') {
		path = officialRepo + path
	}
	return domain, path, explicit
}

func looksLikeDomain(s string) bool {
	return strings.ContainsAny(s, ".:") || s == "localhost" || strings.ToLower(s) != s
}

func checkTag(tag string) string {
	if tag == "" {
		return "empty tag"
	}
	if len(tag) > maxTagLength {
		return fmt.Sprintf("tag %q is longer than %d characters", tag, maxTagLength)
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if isWordChar(c) || (i > 0 && (c == '.' || c == '-')) {
			continue
		}
		return fmt.Sprintf("tag %q may hold only letters, digits, '_', '.' and '-' and must not start with '.' or '-'", tag)
	}
	return ""
}

func isWordChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

// checkPath checks the repository path components: lower-case letters and
// digits, separated by one "." or "_", two "_", or any number of "-".
func checkPath(p string) string {
	for _, comp := range strings.Split(p, "/") {
		if comp == "" {
			return "repository name has an empty path component"
		}
		if strings.ToLower(comp) != comp {
			return "repository name must be lowercase"
		}
		if !validComponent(comp) {
			return fmt.Sprintf("repository path component %q may hold only [a-z0-9] separated by '.', '_', '__' or dashes", comp)
		}
	}
	return ""
}

func validComponent(c string) bool {
	i := 0
	for {
		start := i
		for i < len(c) && isLowerAlnum(c[i]) {
			i++
		}
		if i == start {
			return false // a separator at the start, the end, or two in a row
		}
		if i == len(c) {
			return true
		}
		sep := i
		for i < len(c) && !isLowerAlnum(c[i]) {
			i++
		}
		switch s := c[sep:i]; {
		case s == "." || s == "_" || s == "__":
		case strings.Trim(s, "-") == "":
		default:
			return false
		}
	}
}

// checkDomain checks a registry host: DNS-like labels or a bracketed IPv6
// address, and an optional numeric port.
func checkDomain(d string) string {
	host, port := d, ""
	if strings.HasPrefix(d, "[") {
		end := strings.IndexByte(d, ']')
		if end < 0 || !validIPv6(d[1:end]) {
			return fmt.Sprintf("registry %q: bad IPv6 address", d)
		}
		host, port = d[:end+1], d[end+1:]
		if port != "" && port[0] != ':' {
			return fmt.Sprintf("registry %q: junk after the address", d)
		}
	} else if i := strings.IndexByte(d, ':'); i >= 0 {
		host, port = d[:i], d[i:]
	}
	if port != "" {
		p := port[1:]
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return fmt.Sprintf("registry %q: port must be a number", d)
		}
	}
	if strings.HasPrefix(host, "[") {
		return ""
	}
	for _, label := range strings.Split(host, ".") {
		if !validLabel(label) {
			return fmt.Sprintf("registry %q: host label %q may hold only letters, digits and inner '-'", d, label)
		}
	}
	return ""
}

func validLabel(l string) bool {
	if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !(isWordChar(c) && c != '_' || c == '-') {
			return false
		}
	}
	return true
}

func validIPv6(s string) bool {
	if s == "" || !strings.Contains(s, ":") {
		return false
	}
	return strings.Trim(strings.ToLower(s), "0123456789abcdef:.") == ""
}

// IsFullID reports whether s is 64 lower-case hexadecimal characters, the
// form of an image ID without its "sha256:" prefix.
func IsFullID(s string) bool {
	return len(s) == 64 && IsHexPrefix(s)
}

// IsHexPrefix reports whether s is a non-empty string of lower-case
// hexadecimal characters of at most 64, a possible image ID prefix.
func IsHexPrefix(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Name returns the normalised repository name, domain and path.
func (r Reference) Name() string { return r.Domain + "/" + r.Path }

// String returns the normalised reference: name, ":tag" if any and
// "@digest" if any.
func (r Reference) String() string {
	s := r.Name()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}

// FamiliarName returns the name as Docker shows it: without "docker.io/",
// and without "library/" for official images.
func (r Reference) FamiliarName() string {
	if r.Domain != DefaultDomain {
		return r.Name()
	}
	if p, ok := strings.CutPrefix(r.Path, officialRepo); ok && !strings.ContainsRune(p, '/') {
		return p
	}
	return r.Path
}

// Familiar returns the reference as Docker shows it (FamiliarName with
// tag and digest).
func (r Reference) Familiar() string {
	s := r.FamiliarName()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}
