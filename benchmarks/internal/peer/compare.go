package peer

import (
	"slices"
	"testing"
	"time"
)

// Variant is one contender of an interleaved comparison.
type Variant struct {
	Name string
	// Run does one measured iteration; round counts from 0.
	Run func(round int) error
}

// Interleave runs every variant once per round, in order, for rounds
// rounds, so that the load of a shared machine falls on all alike, and
// returns each variant's durations. A failed iteration fails t at once.
func Interleave(t testing.TB, rounds int, variants []Variant) [][]time.Duration {
	t.Helper()
	times := make([][]time.Duration, len(variants))
	for i := range rounds {
		for v, variant := range variants {
			start := time.Now()
			if err := variant.Run(i); err != nil {
				t.Fatalf("%s: %v", variant.Name, err)
			}
			times[v] = append(times[v], time.Since(start))
		}
	}
	return times
}

// Report logs each variant's median and quartiles, and its median as a
// ratio of the last variant's (the peer everything is compared with).
func Report(t testing.TB, variants []Variant, times [][]time.Duration) {
	t.Helper()
	last := variants[len(variants)-1].Name
	base := Median(times[len(times)-1])
	for v, variant := range variants {
		d := slices.Clone(times[v])
		slices.Sort(d)
		t.Logf("%-28s median %6.1f ms  p25 %6.1f  p75 %6.1f  (%.2fx %s)", variant.Name,
			MS(Median(d)), MS(d[len(d)/4]), MS(d[len(d)*3/4]), float64(Median(d))/float64(base), last)
	}
}
