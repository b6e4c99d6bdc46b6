package dockerfile

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestErrorMessages is the golden list of error messages, with the line
// each one names. Where BuildKit reports the same problem, the message
// text is BuildKit's.
func TestErrorMessages(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"", "dockerfile parse error on line 0: file with no instructions"},
		{"# only\n\n# comments\n", "dockerfile parse error on line 3: file with no instructions"},
		{"FROM a\nENV X\n", "dockerfile parse error on line 2: ENV must have two arguments"},
		{"FROM a\nLABEL X\n", "dockerfile parse error on line 2: LABEL must have two arguments"},
		{"FROM a\nENV a=b c\n", `dockerfile parse error on line 2: Syntax error - can't find = in "c". Must be of the form: name=value`},
		{"FROM a\nCMD [\"a\", 1]\n", "dockerfile parse error on line 2: when using JSON array syntax, arrays must be comprised of strings only"},
		{"FROM a\nRUN <<EOF\nx\n", "dockerfile parse error on line 2: unterminated heredoc"},
		{"# escape=x\nFROM a\n", "dockerfile parse error on line 1: invalid escape token 'x' does not match ` or \\"},
		{"# escape=`\n# escape=\\\nFROM a\n", "dockerfile parse error on line 2: only one escape parser directive can be used"},
		{"FROM a\n" + "LABEL x=" + strings.Repeat("y", MaxLineLength) + "\n", "dockerfile parse error on line 2: dockerfile line greater than max allowed size of 65535"},
		{"FORM a\n", "dockerfile parse error on line 1: unknown instruction: FORM (did you mean FROM?)"},
		{"from a\nrunn x\n", "dockerfile parse error on line 2: unknown instruction: runn (did you mean run?)"},
		{"FROM a\nFOOBAR x\n", "dockerfile parse error on line 2: unknown instruction: FOOBAR"},
		{"RUN x\n", "dockerfile parse error on line 1: no build stage in current context"},
		{"FROM\n", "dockerfile parse error on line 1: FROM requires either one or three arguments"},
		{"FROM a b\n", "dockerfile parse error on line 1: FROM requires either one or three arguments"},
		{"FROM a AS 1x\n", `dockerfile parse error on line 1: invalid name for build stage: "1x", name can't start with a number or contain symbols`},
		{"FROM --platfrom=x a\n", "dockerfile parse error on line 1: unknown flag: --platfrom (did you mean platform?)"},
		{"FROM a\nCOPY --form=b x y\n", "dockerfile parse error on line 2: unknown flag: --form (did you mean from?)"},
		{"FROM a\nCOPY --from=b --from=c x y\n", "dockerfile parse error on line 2: duplicate flag specified: --from"},
		{"FROM a\nCOPY --from x y\n", "dockerfile parse error on line 2: missing a value on flag: --from"},
		{"FROM a\nCOPY --link=maybe x y\n", "dockerfile parse error on line 2: expecting boolean value for flag --link, not: maybe"},
		{"FROM a\nCOPY --link= x y\n", "dockerfile parse error on line 2: missing a value on flag: --link"},
		{"FROM a\nCOPY x\n", "dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined"},
		{"FROM a\nADD x\n", "dockerfile parse error on line 2: ADD requires at least two arguments, but only one was provided. Destination could not be determined"},
		{"FROM a\nCOPY x <<EOF\nb\nEOF\n", "dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination"},
		{"FROM a\nCOPY --chmod=9x9 x y\n", "dockerfile parse error on line 2: invalid chmod parameter 9x9"},
		{"FROM a\nWORKDIR\n", "dockerfile parse error on line 2: WORKDIR requires exactly one argument"},
		{"FROM a\nUSER\n", "dockerfile parse error on line 2: USER requires exactly one argument"},
		{"FROM a\nMAINTAINER\n", "dockerfile parse error on line 2: MAINTAINER requires exactly one argument"},
		{"FROM a\nSTOPSIGNAL\n", "dockerfile parse error on line 2: STOPSIGNAL requires exactly one argument"},
		{"FROM a\nEXPOSE\n", "dockerfile parse error on line 2: EXPOSE requires at least one argument"},
		{"FROM a\nEXPOSE 99999\n", "dockerfile parse error on line 2: invalid containerPort: 99999: invalid start port '99999': value out of range"},
		{"FROM a\nVOLUME\n", "dockerfile parse error on line 2: VOLUME requires at least one argument"},
		{"FROM a\nVOLUME [\"\"]\n", "dockerfile parse error on line 2: VOLUME specified can not be an empty string"},
		{"FROM a\nARG\n", "dockerfile parse error on line 2: ARG requires at least one argument"},
		{"FROM a\nARG =x\n", "dockerfile parse error on line 2: ARG names can not be blank"},
		{"FROM a\nENV =x\n", "dockerfile parse error on line 2: ENV names can not be blank"},
		{"FROM a\nSHELL\n", "dockerfile parse error on line 2: SHELL requires at least one argument"},
		{"FROM a\nSHELL sh -c\n", "dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form"},
		{"FROM a\nONBUILD\n", "dockerfile parse error on line 2: ONBUILD requires at least one argument"},
		{"FROM a\nONBUILD ONBUILD RUN x\n", "dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
		{"FROM a\nONBUILD FROM b\n", "dockerfile parse error on line 2: FROM isn't allowed as an ONBUILD trigger"},
		{"FROM a\nHEALTHCHECK\n", "dockerfile parse error on line 2: HEALTHCHECK requires at least one argument"},
		{"FROM a\nHEALTHCHECK NONE x\n", "dockerfile parse error on line 2: HEALTHCHECK NONE takes no arguments"},
		{"FROM a\nHEALTHCHECK CONNECT x\n", `dockerfile parse error on line 2: Unknown type "CONNECT" in HEALTHCHECK (try CMD)`},
		{"FROM a\nHEALTHCHECK CMD\n", "dockerfile parse error on line 2: Missing command after HEALTHCHECK CMD"},
		{"FROM a\nHEALTHCHECK --interval=1us CMD x\n", `dockerfile parse error on line 2: Interval "interval" cannot be less than 1ms`},
		{"FROM a\nHEALTHCHECK --timeout=soon CMD x\n", `dockerfile parse error on line 2: time: invalid duration "soon"`},
		{"FROM a\nHEALTHCHECK --retries=-1 CMD x\n", "dockerfile parse error on line 2: --retries cannot be negative (-1)"},
		{"FROM a\nHEALTHCHECK --retries=x CMD y\n", `dockerfile parse error on line 2: strconv.ParseInt: parsing "x": invalid syntax`},
		{"FROM a\nRUN --network=bridge x\n", `dockerfile parse error on line 2: invalid network mode "bridge"`},
		{"FROM a\nRUN --security=root x\n", `dockerfile parse error on line 2: security "root" is not valid`},
		{"FROM a\nRUN --mount=type=cach,target=/x y\n", `dockerfile parse error on line 2: unsupported mount type "cach" (did you mean cache?)`},
		{"FROM a\nRUN --mount=type=cache,targt=/x y\n", `dockerfile parse error on line 2: unexpected key 'targt' in 'targt=/x' (did you mean target?)`},
		{"FROM a\nRUN --mount=type=cache,sharing=lockd y\n", `dockerfile parse error on line 2: unsupported sharing value "lockd" (did you mean locked?)`},
		{"FROM a\nRUN --mount=type=bind,mode=0700 y\n", `dockerfile parse error on line 2: mode not allowed for "bind" type mounts`},
		{"FROM a\nRUN --mount=type=bind,size=1m y\n", "dockerfile parse error on line 2: unexpected key 'size' for mount type 'bind'"},
		{"FROM a\nRUN --mount=type=secret y\n", "dockerfile parse error on line 2: invalid secret mount. one of source, target required"},
		{"FROM a\nRUN --mount=type=secret,id=a,from=b y\n", "dockerfile parse error on line 2: secret mount should not have a from"},
		{"FROM a\nRUN --mount=type=tmpfs,size=lots y\n", "dockerfile parse error on line 2: invalid value for size: lots"},
		{"FROM a\nRUN --mount=type=bind,nothing y\n", "dockerfile parse error on line 2: invalid field 'nothing' must be a key=value pair"},
		{"FROM a\nRUN --mount=type=bind,from=$X y\n", "dockerfile parse error on line 2: 'from' doesn't support variable expansion, define alias stage instead"},
		{"FROM a\nRUN \\\n  --mount=type=bind,ro=maybe \\\n  y\n", "dockerfile parse error on line 2: invalid value for ro: maybe"},
	}
	for _, tt := range tests {
		name := tt.src
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			_, err := ParseString(tt.src)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
		})
	}
}

func TestParseErrorRangeAndUnwrap(t *testing.T) {
	_, err := ParseString("FROM a\nRUN \\\n  --network=nope \\\n  x\n")
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, Range{Start: Position{2, 1}, End: Position{4, 4}}, pe.Range)
	assert.Equal(t, `invalid network mode "nope"`, pe.Msg)

	_, err = ParseString("FROM a\nHEALTHCHECK --retries=x CMD y\n")
	require.ErrorAs(t, err, &pe)
	assert.ErrorIs(t, err, strconv.ErrSyntax)

	_, err = ParseString("FROM a\nFORM b\n")
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "FROM", pe.Suggestion)
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReaderError(t *testing.T) {
	_, err := Parse(failingReader{})
	assert.EqualError(t, err, "reading dockerfile: disk on fire")
	var pe *ParseError
	assert.False(t, errors.As(err, &pe))
}
