package peer

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMedian(t *testing.T) {
	d := []time.Duration{5, 1, 3}
	assert.Equal(t, time.Duration(3), Median(d))
	assert.Equal(t, []time.Duration{5, 1, 3}, d, "the input is not sorted in place")
	assert.Equal(t, time.Duration(3), Median([]time.Duration{4, 1, 3, 2}))
	assert.Equal(t, 1.5, MS(1500*time.Microsecond))
}

func TestInterleaveRunsRoundsInOrder(t *testing.T) {
	var calls []string
	variants := []Variant{
		{"a", func(i int) error { calls = append(calls, fmt.Sprint("a", i)); return nil }},
		{"b", func(i int) error { calls = append(calls, fmt.Sprint("b", i)); return nil }},
	}
	times := Interleave(t, 2, variants)
	assert.Equal(t, []string{"a0", "b0", "a1", "b1"}, calls)
	require.Len(t, times, 2)
	assert.Len(t, times[0], 2)
	assert.Len(t, times[1], 2)
}
