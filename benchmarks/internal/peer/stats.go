package peer

import (
	"slices"
	"time"
)

// Median returns the median of d (the upper one of an even count); d is
// not modified. It panics on an empty slice.
func Median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// MS converts d to fractional milliseconds, for printing.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
