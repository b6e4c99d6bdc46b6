package layers_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/layers"
)

func TestMountData(t *testing.T) {
	ov := layers.Mount{Type: "overlay", Source: "overlay",
		Options: []string{"index=off", "workdir=/s/2/work", "upperdir=/s/2/fs", "lowerdir=/s/1/fs:/s/0/fs"}}
	view := layers.Mount{Type: "overlay", Source: "overlay", Options: []string{"index=off", "lowerdir=/s/1/fs:/s/0/fs"}}
	bindRW := layers.Mount{Type: "bind", Source: "/s/3/fs", Options: []string{"rbind", "rw"}}
	bindRO := layers.Mount{Type: "bind", Source: "/s/3/fs", Options: []string{"rbind", "ro"}}
	tests := []struct {
		name     string
		m        layers.Mount
		readOnly bool
		upper    string
		lowers   []string
	}{
		{"overlay", ov, false, "/s/2/fs", []string{"/s/1/fs", "/s/0/fs"}},
		{"overlay view", view, true, "", []string{"/s/1/fs", "/s/0/fs"}},
		{"bind rw", bindRW, false, "/s/3/fs", []string{"/s/3/fs"}},
		{"bind ro", bindRO, true, "", []string{"/s/3/fs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.readOnly, tt.m.ReadOnly())
			assert.Equal(t, tt.upper, layers.UpperDir([]layers.Mount{tt.m}))
			assert.Equal(t, tt.lowers, layers.LowerDirs(tt.m))
		})
	}
}
