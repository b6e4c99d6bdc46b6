package main

import (
	"fmt"
	"slices"
	"time"
)

// sample is a named series of durations.
type sample struct {
	name string
	d    []time.Duration
}

// quantile returns the q-quantile (nearest rank) of the durations.
func (s sample) quantile(q float64) time.Duration {
	if len(s.d) == 0 {
		return 0
	}
	d := slices.Clone(s.d)
	slices.Sort(d)
	i := int(q*float64(len(d))+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
