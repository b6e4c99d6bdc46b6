package main

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFreeSubnet(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name string
		used []netip.Prefix
		want netip.Prefix
	}{
		{"nothing used", nil, p("172.29.0.0/24")},
		{"first taken", []netip.Prefix{p("172.29.0.0/24")}, p("172.29.1.0/24")},
		{"a wider route covers some", []netip.Prefix{p("172.29.0.0/23"), p("172.29.2.128/25")}, p("172.29.3.0/24")},
		{"the whole /16 taken", []netip.Prefix{p("172.16.0.0/12")}, p("10.213.0.0/24")},
		{"IPv6 ignored", []netip.Prefix{p("::/0"), p("fd00::/8")}, p("172.29.0.0/24")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := freeSubnet(tt.used)
			assert.True(t, ok)
			assert.Equal(t, tt.want, got)
		})
	}
	_, ok := freeSubnet([]netip.Prefix{p("172.16.0.0/12"), p("10.0.0.0/8")})
	assert.False(t, ok, "no candidate left")
}
