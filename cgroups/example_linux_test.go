package cgroups_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berthlabs/berth/cgroups"
)

// Example runs the whole flow on a fake cgroup v2 tree, without root: the
// files New writes are what the kernel would get, and Stats parses files
// laid out as the kernel shows them.
func Example() {
	root, err := os.MkdirTemp("", "fake-cgroup")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	// What a unified host shows at its root.
	os.WriteFile(filepath.Join(root, "cgroup.controllers"), []byte("cpuset cpu io memory pids\n"), 0o644)
	os.WriteFile(filepath.Join(root, "cpuset.cpus.effective"), []byte("0-1\n"), 0o644)

	g, err := cgroups.New("web", &cgroups.Resources{
		Memory: &cgroups.Memory{Max: new(int64(256 << 20))},
		CPU:    &cgroups.CPU{Weight: new(uint64(200)), Quota: new(int64(50000)), Period: new(uint64(100000)), Cpus: "1"},
		Pids:   &cgroups.Pids{Max: new(int64(64))},
	}, cgroups.WithRoot(root))
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Mode(), g.Path())
	dir := filepath.Join(root, g.Path())
	for _, f := range []string{"memory.max", "cpu.weight", "cpu.max", "cpuset.cpus", "pids.max"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		fmt.Printf("%s: %s\n", f, b)
	}

	// A CPU the host does not have is refused before anything is written.
	err = g.Set(&cgroups.Resources{CPU: &cgroups.CPU{Cpus: "0-7"}})
	fmt.Println(err)

	// What the kernel would show after some work.
	os.WriteFile(filepath.Join(dir, "memory.current"), []byte("1048576\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "cpu.stat"), []byte("usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"), 0o644)
	s, err := g.Stats()
	if err != nil {
		panic(err)
	}
	fmt.Println("memory:", s.Memory.Usage, "limit:", s.Memory.Limit, "cpu:", s.CPU.Usage)

	if err := g.Delete(context.Background(), nil); err != nil {
		panic(err)
	}
	_, err = os.Stat(dir)
	fmt.Println("deleted:", errors.Is(err, fs.ErrNotExist))
	// Output:
	// unified /berth/web
	// memory.max: 268435456
	// cpu.weight: 200
	// cpu.max: 50000 100000
	// cpuset.cpus: 1
	// pids.max: 64
	// setting cgroup /berth/web: invalid cgroup resources: cpuset cpus "0-7": 2,3,4,5,6,7 not available (the host has "0-1"): invalid argument
	// memory: 1048576 limit: 268435456 cpu: 1.5ms
	// deleted: true
}

// Example_v1 shows the translation to cgroup v1 on a fake legacy tree:
// the same Resources land in each controller's hierarchy, in v1 units.
func Example_v1() {
	root, err := os.MkdirTemp("", "fake-cgroup-v1")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(root)
	for _, c := range []string{"memory", "cpu", "pids"} {
		os.MkdirAll(filepath.Join(root, c), 0o755)
		os.WriteFile(filepath.Join(root, c, "cgroup.procs"), nil, 0o644)
	}

	g, err := cgroups.New("web", &cgroups.Resources{
		Memory: &cgroups.Memory{Max: new(int64(256 << 20)), Swap: new(int64(64 << 20))},
		CPU:    &cgroups.CPU{Weight: new(uint64(100)), Quota: new(int64(cgroups.Unlimited))},
		Pids:   &cgroups.Pids{Max: new(int64(cgroups.Unlimited))},
	}, cgroups.WithRoot(root))
	if err != nil {
		panic(err)
	}
	fmt.Println(g.Mode(), g.Path())
	for _, f := range []string{
		"memory/berth/web/memory.limit_in_bytes",
		"memory/berth/web/memory.memsw.limit_in_bytes",
		"cpu/berth/web/cpu.shares",
		"cpu/berth/web/cpu.cfs_quota_us",
		"pids/berth/web/pids.max",
	} {
		b, _ := os.ReadFile(filepath.Join(root, f))
		fmt.Printf("%s: %s\n", filepath.Base(f), b)
	}

	// Device rules need the v1 devices controller, which this tree lacks.
	err = g.Set(&cgroups.Resources{Devices: []cgroups.DeviceRule{{Type: 'a'}}})
	fmt.Println(errors.Is(err, errors.ErrUnsupported))
	// Output:
	// legacy /berth/web
	// memory.limit_in_bytes: 268435456
	// memory.memsw.limit_in_bytes: 335544320
	// cpu.shares: 2597
	// cpu.cfs_quota_us: -1
	// pids.max: max
	// true
}
