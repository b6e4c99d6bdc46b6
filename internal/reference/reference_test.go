package reference

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseNormalises(t *testing.T) {
	tests := []struct {
		in, full, familiar string
		domain, path, tag  string
	}{
		{"busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox", ""},
		{"busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36", "docker.io", "library/busybox", "1.36"},
		{"library/busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox", ""},
		{"docker.io/busybox", "docker.io/library/busybox", "busybox", "docker.io", "library/busybox", ""},
		{"index.docker.io/library/busybox:x", "docker.io/library/busybox:x", "busybox:x", "docker.io", "library/busybox", "x"},
		{"user/app:v1", "docker.io/user/app:v1", "user/app:v1", "docker.io", "user/app", "v1"},
		{"localhost/x", "localhost/x", "localhost/x", "localhost", "x", ""},
		{"localhost:5000/x", "localhost:5000/x", "localhost:5000/x", "localhost:5000", "x", ""},
		{"localhost:5000/a/b:tag", "localhost:5000/a/b:tag", "localhost:5000/a/b:tag", "localhost:5000", "a/b", "tag"},
		{"quay.io/org/img:1.0-rc_2", "quay.io/org/img:1.0-rc_2", "quay.io/org/img:1.0-rc_2", "quay.io", "org/img", "1.0-rc_2"},
		{"[::1]:5000/x", "[::1]:5000/x", "[::1]:5000/x", "[::1]:5000", "x", ""},
		{"Registry/x", "Registry/x", "Registry/x", "Registry", "x", ""},
		{"a__b/c--d/e.f_g", "docker.io/a__b/c--d/e.f_g", "a__b/c--d/e.f_g", "docker.io", "a__b/c--d/e.f_g", ""},
		{"localhost:5000", "docker.io/library/localhost:5000", "localhost:5000", "docker.io", "library/localhost", "5000"},
		{"docker.io/library/a/b", "docker.io/library/a/b", "library/a/b", "docker.io", "library/a/b", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.domain, r.Domain)
			assert.Equal(t, tt.path, r.Path)
			assert.Equal(t, tt.tag, r.Tag)
			assert.Equal(t, tt.full, r.String())
			assert.Equal(t, tt.familiar, r.Familiar())
			again, err := Parse(r.String())
			require.NoError(t, err)
			assert.Equal(t, r, again, "the normal form parses to itself")
		})
	}
}

func TestParseDigest(t *testing.T) {
	r, err := Parse("x@sha256:" + hex64)
	require.NoError(t, err)
	assert.Equal(t, "docker.io/library/x@sha256:"+hex64, r.String())
	assert.Equal(t, "sha256:"+hex64, r.Digest.String())
	assert.Empty(t, r.Tag)

	r, err = Parse("localhost:5000/x:v1@sha256:" + hex64)
	require.NoError(t, err)
	assert.Equal(t, "v1", r.Tag)
	assert.Equal(t, "localhost:5000/x:v1@sha256:"+hex64, r.String())
	assert.Equal(t, "localhost:5000/x:v1@sha256:"+hex64, r.Familiar())
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty reference"},
		{"Busybox", "must be lowercase"},
		{"busybox:", "empty tag"},
		{"busybox:.x", "must not start with"},
		{"busybox:" + strings.Repeat("a", 129), "longer than 128"},
		{"busy box", "may hold only"},
		{"a//b", "empty path component"},
		{"a/b/", "empty path component"},
		{"-a", "may hold only"},
		{"a-", "may hold only"},
		{"a...b", "may hold only"},
		{"a___b", "may hold only"},
		{"x@sha256:abc", "digest"},
		{"x@md5:" + hex64[:32], "digest"},
		{"x@", "digest"},
		{"@sha256:" + hex64, "missing repository name"},
		{":tag", "missing repository name"},
		{hex64, "64-character hexadecimal"},
		{"localhost:x5/a", "port must be a number"},
		{"local_host.io/a", "host label"},
		{"-bad.io/a", "host label"},
		{"[zz]:5000/a", "IPv6"},
		{"docker.io/" + strings.Repeat("a", 250), "more than 255"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			require.Error(t, err)
			assert.True(t, errors.Is(err, fs.ErrInvalid), "%v wraps fs.ErrInvalid", err)
			var re *Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.in, re.Input)
			assert.Contains(t, err.Error(), tt.reason)
		})
	}
}

func TestHexHelpers(t *testing.T) {
	assert.True(t, IsFullID(hex64))
	assert.False(t, IsFullID(hex64[:63]))
	assert.False(t, IsFullID(strings.ToUpper(hex64)))
	assert.True(t, IsHexPrefix("abc1"))
	assert.False(t, IsHexPrefix(""))
	assert.False(t, IsHexPrefix("abg"))
	assert.False(t, IsHexPrefix(hex64+"0"))
	// A 64-hex name with a tag or a registry is a valid name.
	_, err := Parse(hex64 + ":v1")
	assert.NoError(t, err)
	_, err = Parse("localhost/" + hex64)
	assert.NoError(t, err)
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"busybox", "localhost:5000/a/b:t@sha256:" + hex64, "[::1]/x", "A/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("normal form %q of %q does not parse: %v", r.String(), s, err)
		}
		if again != r {
			t.Fatalf("normal form %q of %q parses to %+v, not %+v", r.String(), s, again, r)
		}
	})
}
