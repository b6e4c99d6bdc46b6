package peer

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestMedian(t *testing.T) {
	d := []time.Duration{5, 1, 3}
	assert.Equal(t, time.Duration(3), Median(d))
	assert.Equal(t, []time.Duration{5, 1, 3}, d, "the input is not sorted in place")
	assert.Equal(t, time.Duration(3), Median([]time.Duration{4, 1, 3, 2}))
	assert.Equal(t, 1.5, MS(1500*time.Microsecond))
}
