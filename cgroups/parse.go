package cgroups

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// ParseError reports a line of a cgroup file that could not be parsed: the
// kernel wrote something this package does not understand. Err is
// [strconv.ErrSyntax] or [strconv.ErrRange].
type ParseError struct {
	// File is the path of the file.
	File string
	// Line is the 1-based line number.
	Line int
	// Text is the offending line.
	Text string
	// Err says what is wrong with it.
	Err error
}

// Error returns "cgroups: FILE line N "TEXT": ERR".
func (e *ParseError) Error() string {
	return fmt.Sprintf("cgroups: %s line %d %q: %v", e.File, e.Line, e.Text, e.Err)
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

func parseErr(file string, n int, line []byte, err error) error {
	return &ParseError{File: file, Line: n, Text: string(line), Err: err}
}

// v1Unlimited: v1 reports "no limit" as the largest page-aligned int64
// (9223372036854771712 with 4 KiB pages); anything this large is no limit.
const v1Unlimited = 1 << 62

// parseUint parses a decimal uint64 without allocating.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 {
		return 0, strconv.ErrSyntax
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, strconv.ErrRange
		}
		n = n*10 + d
	}
	return n, nil
}

// parseInt parses a decimal int64 with an optional minus sign.
func parseInt(b []byte) (int64, error) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	u, err := parseUint(b)
	if err != nil {
		return 0, err
	}
	if neg {
		if u > 1<<63 {
			return 0, strconv.ErrRange
		}
		return -int64(u), nil
	}
	if u > math.MaxInt64 {
		return 0, strconv.ErrRange
	}
	return int64(u), nil
}

// nextLine splits data at the first newline; n counts lines.
func nextLine(data []byte) (line, rest []byte) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return data[:i], data[i+1:]
	}
	return data, nil
}

// singleValue returns the one line of a single-value file.
func singleValue(data []byte) []byte {
	line, _ := nextLine(data)
	return bytes.TrimSpace(line)
}

// parseSingle parses a file holding one unsigned number.
func parseSingle(file string, data []byte) (uint64, error) {
	v, err := parseUint(singleValue(data))
	if err != nil {
		return 0, parseErr(file, 1, singleValue(data), err)
	}
	return v, nil
}

// parseLimit parses a limit file: "max" (v2), -1 or a huge number (v1)
// mean Unlimited.
func parseLimit(file string, data []byte) (int64, error) {
	b := singleValue(data)
	if string(b) == "max" {
		return Unlimited, nil
	}
	v, err := parseInt(b)
	if err != nil {
		return 0, parseErr(file, 1, b, err)
	}
	if v < 0 || v >= v1Unlimited {
		return Unlimited, nil
	}
	return v, nil
}

// eachKV calls fn for each "key value" line of a flat-keyed file. Empty
// lines are skipped; a line without a number value is a *ParseError.
func eachKV(file string, data []byte, fn func(key []byte, v uint64)) error {
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data = nextLine(data)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		key, val, ok := bytes.Cut(line, []byte{' '})
		if !ok || len(key) == 0 {
			return parseErr(file, n, line, strconv.ErrSyntax)
		}
		v, err := parseUint(bytes.TrimSpace(val))
		if err != nil {
			return parseErr(file, n, line, err)
		}
		fn(key, v)
	}
	return nil
}

// parseDevice parses "MAJ:MIN".
func parseDevice(b []byte) (major, minor uint32, err error) {
	ma, mi, ok := bytes.Cut(b, []byte{':'})
	if !ok {
		return 0, 0, strconv.ErrSyntax
	}
	x, err := parseUint(ma)
	if err != nil || x > math.MaxUint32 {
		return 0, 0, strconv.ErrSyntax
	}
	y, err := parseUint(mi)
	if err != nil || y > math.MaxUint32 {
		return 0, 0, strconv.ErrSyntax
	}
	return uint32(x), uint32(y), nil
}

// device returns the entry for major:minor in s, appending one if needed.
func (s *IOStats) device(major, minor uint32) *IODeviceStats {
	for i := range s.Devices {
		if d := &s.Devices[i]; d.Major == major && d.Minor == minor {
			return d
		}
	}
	s.Devices = append(s.Devices, IODeviceStats{Major: major, Minor: minor})
	return &s.Devices[len(s.Devices)-1]
}
