package dockerfile

import (
	"fmt"
	"strings"
)

// ParseError reports a Dockerfile that cannot be read, and where.
//
// Msg uses BuildKit's wording where BuildKit has one (for example
// "ENV must have two arguments" or "unknown instruction: FORM (did you mean
// FROM?)"), so that tools and users see the message they know. Range
// covers the whole instruction (or the directive line) at fault. Err, when
// not nil, is the underlying error (for instance a *strconv.NumError for
// a bad --retries) and is returned by Unwrap, so errors.Is and errors.As
// see through a ParseError.
type ParseError struct {
	Range Range
	Msg   string
	// Suggestion is the keyword or flag name suggested for a misspelt one
	// ("FROM" for "FORM"); it is already part of Msg. Empty when there is
	// none.
	Suggestion string
	Err        error
}

// Error formats the error as BuildKit does:
// "dockerfile parse error on line N: MSG".
func (e *ParseError) Error() string {
	return fmt.Sprintf("dockerfile parse error on line %d: %s", e.Range.Start.Line, e.Msg)
}

// Unwrap returns the underlying cause, or nil.
func (e *ParseError) Unwrap() error { return e.Err }

func newParseError(r Range, format string, args ...any) *ParseError {
	return &ParseError{Range: r, Msg: fmt.Sprintf(format, args...)}
}

// Warning is a problem that does not stop a Dockerfile from being read:
// an empty continuation line, a deprecated instruction, a legacy form.
// Warnings are returned as data; this package never logs.
type Warning struct {
	// Rule is BuildKit's name for the check, e.g. "NoEmptyContinuation",
	// "MaintainerDeprecated" or "LegacyKeyValueFormat".
	Rule string
	// Msg is the human-readable message, in BuildKit's wording.
	Msg string
	// URL points to the rule's documentation.
	URL string
	// Range is the instruction the warning is about.
	Range Range
}

// String formats w as "line N: Rule: Msg".
func (w Warning) String() string {
	return fmt.Sprintf("line %d: %s: %s", w.Range.Start.Line, w.Rule, w.Msg)
}

const ruleURL = "https://docs.docker.com/go/dockerfile/rule/"

func newWarning(rule, slug string, r Range, format string, args ...any) Warning {
	return Warning{Rule: rule, Msg: fmt.Sprintf(format, args...), URL: ruleURL + slug + "/", Range: r}
}

// suggest returns the option nearest to val (Levenshtein distance below 3),
// or "" when val equals an option or nothing is near. Options are compared
// in lower case unless caseSensitive; the match then takes val's casing
// (all lower or all upper), as BuildKit's suggestions do.
func suggest(val string, options []string, caseSensitive bool) string {
	orig := val
	if !caseSensitive {
		val = strings.ToLower(val)
	}
	match, best := "", 3
	for _, opt := range options {
		if !caseSensitive {
			opt = strings.ToLower(opt)
		}
		if val == opt {
			return ""
		}
		if d := levenshtein(val, opt, best); d < best {
			match, best = opt, d
		}
	}
	if match == "" || caseSensitive {
		return match
	}
	if orig == strings.ToUpper(orig) && orig != strings.ToLower(orig) {
		return strings.ToUpper(match)
	}
	return match
}

// levenshtein is the edit distance between a and b counted in runes. It
// gives up early and returns limit once every path exceeds limit.
func levenshtein(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin >= limit {
			return limit
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
