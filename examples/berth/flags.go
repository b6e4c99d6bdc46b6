package main

import (
	"flag"
	"strings"
)

// multi is a repeatable string flag (-e A=1 -e B=2).
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// boolAlias registers a bool flag under several names (-d and --detach).
func boolAlias(fs *flag.FlagSet, p *bool, usage string, names ...string) {
	for _, n := range names {
		fs.BoolVar(p, n, false, usage)
	}
}

func stringAlias(fs *flag.FlagSet, p *string, value, usage string, names ...string) {
	for _, n := range names {
		fs.StringVar(p, n, value, usage)
	}
}

func multiAlias(fs *flag.FlagSet, p *multi, usage string, names ...string) {
	for _, n := range names {
		fs.Var(p, n, usage)
	}
}
