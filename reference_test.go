package berth_test

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
)

func TestParseReferenceDefaultsLatest(t *testing.T) {
	tests := []struct{ in, full, familiar string }{
		{"busybox", "docker.io/library/busybox:latest", "busybox:latest"},
		{"localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"},
		{"user/app:v1", "docker.io/user/app:v1", "user/app:v1"},
		{"x@sha256:" + hex64, "docker.io/library/x@sha256:" + hex64, "x@sha256:" + hex64},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := berth.ParseReference(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.full, r.String())
			assert.Equal(t, tt.familiar, r.Familiar())
		})
	}
}

func TestParseReferenceErrors(t *testing.T) {
	_, err := berth.ParseReference("Busybox:1")
	require.ErrorIs(t, err, fs.ErrInvalid)
	assert.EqualError(t, err, `invalid reference "Busybox:1": repository name must be lowercase`)
}

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
