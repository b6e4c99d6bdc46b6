package berth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
)

// PlatformError reports an image index that has no manifest for the
// wanted platform. It unwraps to fs.ErrNotExist.
type PlatformError struct {
	// Index is the digest of the index searched.
	Index string
	// Want is the platform looked for.
	Want ocispec.Platform
	// Available lists the platforms the index offers, in its order.
	Available []ocispec.Platform
}

// Error names the wanted platform and the available ones.
func (e *PlatformError) Error() string {
	names := make([]string, len(e.Available))
	for i, p := range e.Available {
		names[i] = platformString(p)
	}
	avail := "none"
	if len(names) > 0 {
		avail = strings.Join(names, ", ")
	}
	return fmt.Sprintf("image index %s has no manifest for platform %s (available: %s)",
		e.Index, platformString(e.Want), avail)
}

// Unwrap returns fs.ErrNotExist.
func (e *PlatformError) Unwrap() error { return fs.ErrNotExist }

// platformString formats p as os/arch[/variant], Docker's notation.
func platformString(p ocispec.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// hostPlatform is the platform this program runs on. The arm variant is
// taken to be v7 (Go's default GOARM); amd64 is its baseline v1.
func hostPlatform() ocispec.Platform {
	p := ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	switch p.Architecture {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v7"
	}
	return p
}

// maxIndexDepth bounds nested indexes.
const maxIndexDepth = 4

// selectManifest resolves desc to an image manifest: a manifest is
// returned as is, an index (also nested) is searched for want (nil: the
// host's platform). Without a media type in desc, the blob is sniffed.
func selectManifest(ctx context.Context, p layers.Provider, desc ocispec.Descriptor, want *ocispec.Platform) (ocispec.Descriptor, error) {
	w := hostPlatform()
	if want != nil {
		w = *want
	}
	for depth := 0; ; depth++ {
		mt := desc.MediaType
		if mt == "" {
			sniffed, err := sniffMediaType(ctx, p, desc)
			if err != nil {
				return ocispec.Descriptor{}, err
			}
			mt = sniffed
		}
		if !isIndexMediaType(mt) {
			return desc, nil
		}
		if depth >= maxIndexDepth {
			return ocispec.Descriptor{}, fmt.Errorf("resolving %s: indexes nested deeper than %d: %w", desc.Digest, maxIndexDepth, errors.ErrUnsupported)
		}
		next, err := chooseFromIndex(ctx, p, desc, w)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		desc = next
	}
}

func isIndexMediaType(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == mediaTypeDockerManifestList
}

func isManifestMediaType(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == mediaTypeDockerManifest
}

// sniffMediaType reads a manifest or index blob whose descriptor lacks a
// media type and tells which it is.
func sniffMediaType(ctx context.Context, p layers.Provider, desc ocispec.Descriptor) (string, error) {
	data, err := readBlob(ctx, p, desc, maxJSONBlob)
	if err != nil {
		return "", fmt.Errorf("reading manifest %s: %w", desc.Digest, err)
	}
	var probe struct {
		MediaType string          `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
		Config    json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", fmt.Errorf("decoding manifest %s: %v: %w", desc.Digest, err, fs.ErrInvalid)
	}
	switch {
	case probe.MediaType != "":
		return probe.MediaType, nil
	case probe.Manifests != nil:
		return ocispec.MediaTypeImageIndex, nil
	case probe.Config != nil:
		return ocispec.MediaTypeImageManifest, nil
	}
	return "", fmt.Errorf("blob %s is neither an image manifest nor an index: %w", desc.Digest, errors.ErrUnsupported)
}

// chooseFromIndex reads the index desc and returns its best entry for
// want: the manifest (or nested index) of a compatible platform with the
// closest variant; an entry without a platform only if no other fits.
func chooseFromIndex(ctx context.Context, p layers.Provider, desc ocispec.Descriptor, want ocispec.Platform) (ocispec.Descriptor, error) {
	data, err := readBlob(ctx, p, desc, maxJSONBlob)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("reading index %s: %w", desc.Digest, err)
	}
	var idx ocispec.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("decoding index %s: %v: %w", desc.Digest, err, fs.ErrInvalid)
	}
	best, bestRank := -1, 0
	var avail []ocispec.Platform
	for i, m := range idx.Manifests {
		if !isManifestMediaType(m.MediaType) && !isIndexMediaType(m.MediaType) {
			continue
		}
		rank, ok := noPlatformRank, true
		if m.Platform != nil {
			if m.Platform.OS != "unknown" {
				avail = append(avail, copyPlatform(*m.Platform))
			}
			rank, ok = platformRank(want, *m.Platform)
		}
		if ok && (best < 0 || rank < bestRank) {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return ocispec.Descriptor{}, &PlatformError{Index: desc.Digest.String(), Want: want, Available: avail}
	}
	return idx.Manifests[best], nil
}

// noPlatformRank ranks index entries without a platform below all others.
const noPlatformRank = 1 << 20

// platformRank reports whether an image for have runs on want, and how
// far its variant is from want's (0: the same).
func platformRank(want, have ocispec.Platform) (int, bool) {
	wos, wArch, wVar := normalizePlatform(want)
	hos, hArch, hVar := normalizePlatform(have)
	if wos != hos || wArch != hArch {
		return 0, false
	}
	if want.OSVersion != "" && want.OSVersion != have.OSVersion {
		return 0, false
	}
	if wVar == hVar {
		return 0, true
	}
	wl, okW := variantLevel(wVar)
	hl, okH := variantLevel(hVar)
	if !okW || !okH || hl > wl {
		return 0, false
	}
	return wl - hl, true
}

// normalizePlatform maps the spellings in use to Go's names and fills in
// each architecture's default variant.
func normalizePlatform(p ocispec.Platform) (osName, arch, variant string) {
	osName, arch, variant = strings.ToLower(p.OS), strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	if osName == "macos" {
		osName = "darwin"
	}
	switch arch {
	case "x86_64", "x86-64":
		arch = "amd64"
	case "aarch64":
		arch = "arm64"
	case "armhf":
		arch, variant = "arm", "v7"
	case "armel":
		arch, variant = "arm", "v6"
	case "i386", "i686":
		arch = "386"
	}
	if variant != "" && variant[0] >= '0' && variant[0] <= '9' {
		variant = "v" + variant
	}
	if variant == "" {
		variant = map[string]string{"amd64": "v1", "arm64": "v8", "arm": "v7"}[arch]
	}
	return osName, arch, variant
}

// variantLevel orders variants "vN" and "vN.M" (as 100*N+M).
func variantLevel(v string) (int, bool) {
	s, ok := strings.CutPrefix(v, "v")
	if !ok {
		return 0, false
	}
	major, minor, _ := strings.Cut(s, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0, false
	}
	m := 0
	if minor != "" {
		if m, err = strconv.Atoi(minor); err != nil {
			return 0, false
		}
	}
	return n*100 + m, true
}
