package cgroups

import (
	"errors"
	"testing"
)

// FuzzParsers feeds every stats parser the same bytes: none may panic, and
// every failure must be a *ParseError.
func FuzzParsers(f *testing.F) {
	for _, seed := range []string{
		"anon 4096\nfile 8192\n",
		"8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
		"8:0 Read 4096\n8:0 Write 0\nTotal 4096\n",
		"max\n", "-1\n", "9223372036854771712\n",
		"oom_kill_disable 0\nunder_oom 1\noom_kill 3\n",
		"usage_usec 1\n\n\nx", "8:0 rbytes=\n", ":\n", "Total\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Stats
		var e Event
		for _, err := range []error{
			parseV2MemoryStat("f", data, &s.Memory),
			parseV2MemoryEvents("f", data, &e),
			parseV2CPUStat("f", data, &s.CPU),
			parseV2IOStat("f", data, &s.IO),
			parseV1MemoryStat("f", data, &s.Memory),
			parseV1OOMControl("f", data, &s.Memory),
			parseV1CPUAcctStat("f", data, &s.CPU),
			parseV1CPUStat("f", data, &s.CPU),
			parseV1Blkio("f", data, &s.IO, true),
			func() error { _, err := parseSingle("f", data); return err }(),
			func() error { _, err := parseLimit("f", data); return err }(),
		} {
			var pe *ParseError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
		}
	})
}
