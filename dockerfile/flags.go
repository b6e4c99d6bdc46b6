package dockerfile

import (
	"fmt"
	"strings"
)

type flagType uint8

const (
	flagBool flagType = iota
	flagString
	flagStrings
)

// flagSpec declares one flag an instruction accepts.
type flagSpec struct {
	name string
	typ  flagType
}

// flagValues holds the parsed flags of one instruction.
type flagValues struct {
	specs  []flagSpec
	values map[string][]string // for strings flags: every value; else the last
	used   map[string]bool
}

// parseFlags checks the flag words of an instruction against specs, with
// BuildKit's rules and messages.
func parseFlags(words []string, specs ...flagSpec) (*flagValues, error) {
	fv := &flagValues{specs: specs}
	for _, w := range words {
		if w == "--" {
			return fv, nil
		}
		if !strings.HasPrefix(w, "--") {
			return nil, fmt.Errorf("arg should start with -- : %s", w)
		}
		name, value, hasValue := strings.Cut(w, "=")
		key := name[2:]
		spec, ok := fv.spec(key)
		if !ok {
			err := fmt.Errorf("unknown flag: %s", name)
			if m := suggest(key, fv.names(), true); m != "" {
				return nil, &suggestError{err: err, match: m}
			}
			return nil, err
		}
		if fv.used[key] && spec.typ != flagStrings {
			return nil, fmt.Errorf("duplicate flag specified: %s", name)
		}
		if fv.used == nil {
			fv.used = map[string]bool{}
			fv.values = map[string][]string{}
		}
		fv.used[key] = true
		switch spec.typ {
		case flagBool:
			if hasValue && value == "" {
				return nil, fmt.Errorf("missing a value on flag: %s", name)
			}
			switch strings.ToLower(value) {
			case "true", "":
				value = "true"
			case "false":
				value = "false"
			default:
				return nil, fmt.Errorf("expecting boolean value for flag %s, not: %s", name, value)
			}
			fv.values[key] = []string{value}
		case flagString:
			if !hasValue {
				return nil, fmt.Errorf("missing a value on flag: %s", name)
			}
			fv.values[key] = []string{value}
		case flagStrings:
			if !hasValue {
				return nil, fmt.Errorf("missing a value on flag: %s", name)
			}
			fv.values[key] = append(fv.values[key], value)
		}
	}
	return fv, nil
}

func (fv *flagValues) spec(name string) (flagSpec, bool) {
	for _, s := range fv.specs {
		if s.name == name {
			return s, true
		}
	}
	return flagSpec{}, false
}

func (fv *flagValues) names() []string {
	out := make([]string, len(fv.specs))
	for i, s := range fv.specs {
		out[i] = s.name
	}
	return out
}

func (fv *flagValues) str(name string) string {
	if v := fv.values[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func (fv *flagValues) strs(name string) []string { return fv.values[name] }

func (fv *flagValues) isSet(name string) bool { return fv.used[name] }

func (fv *flagValues) boolean(name string) bool { return fv.str(name) == "true" }

// optBool is nil when the flag is absent, else its value.
func (fv *flagValues) optBool(name string) *bool {
	if !fv.isSet(name) {
		return nil
	}
	b := fv.boolean(name)
	return &b
}

// suggestError adds " (did you mean X?)" to an error.
type suggestError struct {
	err   error
	match string
}

func (e *suggestError) Error() string { return e.err.Error() + " (did you mean " + e.match + "?)" }
func (e *suggestError) Unwrap() error { return e.err }
