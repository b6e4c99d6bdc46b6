package namespaces

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRelated(t *testing.T) {
	tests := []struct {
		mp   string
		want bool
	}{
		{"/", true}, {"/rootfs", true}, {"/rootfs/proc", true}, {"/rootfs/", true},
		{"/proc", false}, {"/rootfsx", false}, {"/dev/pts", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, related(tt.mp, "/rootfs"), tt.mp)
	}
	assert.True(t, related("/a", "/a/b/rootfs"), "a mount above the rootfs stays")
}
