package berth

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCloseRangesExcept(t *testing.T) {
	top := uintptr(^uint32(0))
	for _, tc := range []struct {
		name string
		keep []int
		want [][2]uintptr
	}{
		{"nothing kept", nil, [][2]uintptr{{0, top}}},
		{"stdio and two pipes", []int{9, 0, 1, 2, 7}, [][2]uintptr{{3, 6}, {8, 8}, {10, top}}},
		{"adjacent and duplicates", []int{4, 3, 3, 5}, [][2]uintptr{{0, 2}, {6, top}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, closeRangesExcept(tc.keep))
		})
	}
}
