package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

const payloadPkg = "github.com/berthlabs/berth/internal/testutil/payload"

var payload struct {
	once sync.Once
	path string
	err  error
}

// Payload returns the path of the static test payload, building it on first
// use. The binary is cached by a hash of its sources and the Go version in
// the user cache dir (BERTH_TEST_CACHE overrides it), so the test binaries
// of one run, and later runs, share one build. A build failure fails t.
//
// BERTH_TEST_PAYLOAD names a prebuilt payload to use instead, for machines
// without a Go toolchain (the cgroup v2 VM lane).
//
// The payload is a multi-call program: its applet is the base name of
// argv[0], or its first argument when it is called as "payload" (see
// [PayloadApplets] and internal/testutil/payload).
func Payload(t testing.TB) string {
	t.Helper()
	payload.once.Do(func() { payload.path, payload.err = buildPayload() })
	if payload.err != nil {
		t.Fatalf("building the test payload: %v", payload.err)
	}
	return payload.path
}

// PayloadApplets lists the payload's applets: the names [Rootfs] links in /bin.
func PayloadApplets(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command(Payload(t), "list").Output()
	if err != nil {
		t.Fatalf("listing payload applets: %v", err)
	}
	return strings.Fields(string(out))
}

func buildPayload() (string, error) {
	if prebuilt := os.Getenv("BERTH_TEST_PAYLOAD"); prebuilt != "" {
		if fi, err := os.Stat(prebuilt); err != nil || !fi.Mode().IsRegular() {
			return "", fmt.Errorf("BERTH_TEST_PAYLOAD=%s: not a regular file (%v)", prebuilt, err)
		}
		return prebuilt, nil
	}
	src, err := payloadSource()
	if err != nil {
		return "", err
	}
	sum, err := hashSources(src)
	if err != nil {
		return "", err
	}
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "payload-"+sum[:16])
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", payloadPkg, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("installing payload: %w", err)
	}
	return bin, nil
}

// payloadSource finds the payload's source directory: next to this file
// when the build kept paths, else through go list.
func payloadSource() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		dir := filepath.Join(filepath.Dir(file), "payload")
		if _, err := os.Stat(filepath.Join(dir, "main.go")); err == nil {
			return dir, nil
		}
	}
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", payloadPkg).Output()
	if err != nil {
		return "", fmt.Errorf("locating %s: %w", payloadPkg, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func hashSources(dir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	slices.Sort(names)
	h := sha256.New()
	io.WriteString(h, runtime.Version())
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			return "", err
		}
		io.WriteString(h, filepath.Base(n))
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func cacheDir() (string, error) {
	dir := os.Getenv("BERTH_TEST_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "berth-test")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating test cache %s: %w", dir, err)
	}
	return dir, nil
}
