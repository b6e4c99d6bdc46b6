package dockerfile

import "strings"

// kind identifies an instruction keyword.
type kind uint8

const (
	kindUnknown kind = iota
	kindAdd
	kindArg
	kindCmd
	kindCopy
	kindEntrypoint
	kindEnv
	kindExpose
	kindFrom
	kindHealthcheck
	kindLabel
	kindMaintainer
	kindOnbuild
	kindRun
	kindShell
	kindStopsignal
	kindUser
	kindVolume
	kindWorkdir
)

// keywords are the instruction names in upper case, indexed by kind.
var keywords = [...]string{
	kindUnknown:     "",
	kindAdd:         "ADD",
	kindArg:         "ARG",
	kindCmd:         "CMD",
	kindCopy:        "COPY",
	kindEntrypoint:  "ENTRYPOINT",
	kindEnv:         "ENV",
	kindExpose:      "EXPOSE",
	kindFrom:        "FROM",
	kindHealthcheck: "HEALTHCHECK",
	kindLabel:       "LABEL",
	kindMaintainer:  "MAINTAINER",
	kindOnbuild:     "ONBUILD",
	kindRun:         "RUN",
	kindShell:       "SHELL",
	kindStopsignal:  "STOPSIGNAL",
	kindUser:        "USER",
	kindVolume:      "VOLUME",
	kindWorkdir:     "WORKDIR",
}

// Keywords returns the instruction keywords this package knows, in upper
// case and alphabetical order.
func Keywords() []string {
	out := make([]string, 0, len(keywords)-1)
	for _, k := range keywords[1:] {
		out = append(out, k)
	}
	return out
}

// kindOf maps a keyword as written to its kind. The match is the one
// BuildKit makes: the keyword lower-cased with Unicode rules equals the
// instruction name.
func kindOf(word string) kind {
	if len(word) < 3 || len(word) > 11 {
		if !hasNonASCII(word) {
			return kindUnknown
		}
	}
	if hasNonASCII(word) {
		word = strings.ToLower(word)
	}
	for k := kindAdd; k <= kindWorkdir; k++ {
		if asciiEqualFold(word, keywords[k]) {
			return k
		}
	}
	return kindUnknown
}

// asciiEqualFold compares an ASCII-lower-able word with an upper-case
// keyword.
func asciiEqualFold(word, upper string) bool {
	if len(word) != len(upper) {
		return false
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != upper[i] {
			return false
		}
	}
	return true
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}
