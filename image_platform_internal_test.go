package berth

import (
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
)

func TestPlatformRank(t *testing.T) {
	p := func(os, arch, variant string) ocispec.Platform {
		return ocispec.Platform{OS: os, Architecture: arch, Variant: variant}
	}
	tests := []struct {
		name       string
		want, have ocispec.Platform
		ok         bool
		rank       int
	}{
		{"same", p("linux", "amd64", ""), p("linux", "amd64", ""), true, 0},
		{"amd64 v1 is the default", p("linux", "amd64", ""), p("linux", "amd64", "v1"), true, 0},
		{"amd64 v3 needs a v3 host", p("linux", "amd64", ""), p("linux", "amd64", "v3"), false, 0},
		{"x86_64 spelling", p("linux", "amd64", ""), p("linux", "x86_64", ""), true, 0},
		{"other os", p("linux", "amd64", ""), p("windows", "amd64", ""), false, 0},
		{"other arch", p("linux", "amd64", ""), p("linux", "arm64", ""), false, 0},
		{"arm64 v8 default", p("linux", "arm64", "v8"), p("linux", "arm64", ""), true, 0},
		{"aarch64 spelling", p("linux", "arm64", "v8"), p("linux", "aarch64", ""), true, 0},
		{"arm64 v9 image on v8", p("linux", "arm64", "v8"), p("linux", "arm64", "v9"), false, 0},
		{"arm64 v8.2 host runs v8", p("linux", "arm64", "v8.2"), p("linux", "arm64", "v8"), true, 2},
		{"arm v7 host runs v6", p("linux", "arm", "v7"), p("linux", "arm", "v6"), true, 100},
		{"arm v6 host cannot run v7", p("linux", "arm", "v6"), p("linux", "arm", "v7"), false, 0},
		{"armhf", p("linux", "arm", "v7"), p("linux", "armhf", ""), true, 0},
		{"numeric variant", p("linux", "arm", "7"), p("linux", "arm", "v7"), true, 0},
		{"os version must match when wanted", ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.1"},
			ocispec.Platform{OS: "windows", Architecture: "amd64", OSVersion: "10.0.2"}, false, 0},
		{"unknown variants must be equal", p("linux", "mips64", "x"), p("linux", "mips64", "y"), false, 0},
		{"case", p("Linux", "AMD64", ""), p("linux", "amd64", ""), true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rank, ok := platformRank(tt.want, tt.have)
			assert.Equal(t, tt.ok, ok)
			if ok {
				assert.Equal(t, tt.rank, rank)
			}
		})
	}
}

func TestPlatformString(t *testing.T) {
	assert.Equal(t, "linux/arm/v7", platformString(ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}))
	assert.Equal(t, "linux/amd64", platformString(ocispec.Platform{OS: "linux", Architecture: "amd64"}))
	e := &PlatformError{Index: "sha256:x", Want: ocispec.Platform{OS: "linux", Architecture: "amd64"}}
	assert.Equal(t, "image index sha256:x has no manifest for platform linux/amd64 (available: none)", e.Error())
}
