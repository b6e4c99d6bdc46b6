package testutil

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

const (
	passwdFile = `root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`
	groupFile = `root:x:0:
wheel:x:10:user
user:x:1000:
nogroup:x:65534:
`
)

// Rootfs builds a minimal root filesystem in a new directory under
// t.TempDir() and returns its path: /bin/payload with a symlink per applet
// (/bin/sleep -> payload, ...), /etc/passwd and /etc/group (root 0:0,
// "user" 1000:1000 in group wheel 10, nobody 65534:65534), /etc/hostname
// and /etc/hosts, empty /proc, /sys, /dev, /root, /home/user, and /tmp
// (1777). The directory and its parents under the temp dir are 0755, so a
// container in a user namespace can reach it. The caller owns it; t's
// cleanup removes it.
func Rootfs(t testing.TB) string {
	t.Helper()
	bin := Payload(t)
	base := t.TempDir()
	root := filepath.Join(base, "rootfs")
	if err := makeRootfs(root, bin, PayloadApplets(t)); err != nil {
		t.Fatalf("building rootfs: %v", err)
	}
	for _, d := range []string{base, filepath.Dir(base)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatalf("building rootfs: %v", err)
		}
	}
	return root
}

func makeRootfs(root, payloadBin string, applets []string) error {
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "root", "home/user", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), os.ModeSticky|0o777); err != nil {
		return err
	}
	if err := os.Chown(filepath.Join(root, "home/user"), 1000, 1000); err != nil && os.Geteuid() == 0 {
		return err
	}
	files := map[string]string{
		"etc/passwd":   passwdFile,
		"etc/group":    groupFile,
		"etc/hostname": "rootfs\n",
		"etc/hosts":    "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	if err := copyFile(payloadBin, filepath.Join(root, "bin/payload"), 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		if a == "list" {
			continue
		}
		if err := os.Symlink("payload", filepath.Join(root, "bin", a)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}
