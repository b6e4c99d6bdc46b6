package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"
)

// compile writes the embedded app source to a module of its own and
// builds it, statically, into the build context; it returns the binary.
func (e *env) compile(ctx context.Context, r *report) (string, error) {
	r.step(1, "compiling the app: go build, CGO_ENABLED=0 (a static binary for FROM scratch)")
	start := time.Now()
	src := filepath.Join(e.work, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	gomod := "module quickstart/app\n\ngo 1.22\n"
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), appSource, 0o644); err != nil {
		return "", err
	}
	goBin, err := findGo()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(e.contextDir(), "app")
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH,
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("compiling the app: %w\n%s", err, out)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return "", err
	}
	r.detail("%s: %.1f MB static binary, in %s", bin, float64(fi.Size())/1e6, since(start))
	return bin, nil
}

// findGo returns the go command: from PATH, or from the Go installation
// this program was built with (sudo may reset PATH).
func findGo() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	var candidates []string
	if g := os.Getenv("GOROOT"); g != "" {
		candidates = append(candidates, filepath.Join(g, "bin", "go"))
	}
	candidates = append(candidates, filepath.Join(runtime.GOROOT(), "bin", "go"), "/usr/local/go/bin/go") //nolint:staticcheck // the build's GOROOT, when go is not in PATH
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c, nil
		}
	}
	return "", errors.New("the go command is not in PATH (sudo resets PATH: try sudo env PATH=\"$PATH\" go run ./examples/quickstart)")
}
