package namespaces_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/namespaces"
)

func TestKindString(t *testing.T) {
	tests := []struct {
		name string
		kind namespaces.Kind
		want string
	}{
		{"none", 0, "none"},
		{"one", namespaces.Net, "net"},
		{"two", namespaces.Net | namespaces.Mount, "mount|net"},
		{"all", namespaces.All, "mount|uts|ipc|pid|net|cgroup"},
		{"every", namespaces.All | namespaces.User | namespaces.Time, "mount|uts|ipc|pid|net|user|cgroup|time"},
		{"unknown bits", namespaces.UTS | 0x3, "uts|0x3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.kind.String())
		})
	}
}

func TestKindHas(t *testing.T) {
	assert.True(t, namespaces.All.Has(namespaces.Net|namespaces.PID))
	assert.False(t, namespaces.All.Has(namespaces.User))
	assert.True(t, namespaces.Kind(0).Has(0))
}
