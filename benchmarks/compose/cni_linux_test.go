package compose

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/berthlabs/berth/benchmarks/internal/peer"
	"golang.org/x/sys/unix"
)

// cniPlugins is where Debian's containernetworking-plugins installs them.
const cniPlugins = "/usr/lib/cni"

// nsFD is the descriptor number the container's network namespace is
// kept at during a crun round, so that its path (/proc/PID/fd/nsFD) in the
// bundle's config stays the same.
const nsFD = 500

// cni runs the CNI bridge plugin with host-local IPAM, chained with
// portmap, as a container runtime does: one process per plugin and
// command, started in the host namespace.
type cni struct {
	host    *os.File
	dataDir string
}

func (c *cni) bridgeConf() map[string]any {
	return map[string]any{
		"cniVersion": "1.0.0", "name": "bench", "type": "bridge",
		"bridge": "cni0", "isGateway": true, "ipMasq": false,
		"ipam": map[string]any{
			"type": "host-local", "dataDir": c.dataDir,
			"ranges": [][]map[string]string{{{"subnet": "10.88.0.0/16"}}},
			"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
		},
	}
}

func (c *cni) portmapConf(prev map[string]any, hostPort int) map[string]any {
	conf := map[string]any{
		"cniVersion": "1.0.0", "name": "bench", "type": "portmap", "snat": true,
		"capabilities":  map[string]bool{"portMappings": true},
		"runtimeConfig": map[string]any{"portMappings": []map[string]any{{"hostPort": hostPort, "containerPort": 80, "protocol": "tcp"}}},
	}
	if prev != nil {
		conf["prevResult"] = prev
	}
	return conf
}

// add runs bridge ADD, then portmap ADD with the bridge's result.
func (c *cni) add(id, netns string, hostPort int) error {
	out, err := c.run("bridge", "ADD", id, netns, c.bridgeConf())
	if err != nil {
		return err
	}
	var prev map[string]any
	if err := json.Unmarshal(out, &prev); err != nil {
		return fmt.Errorf("bridge result: %w", err)
	}
	if ips, _ := prev["ips"].([]any); len(ips) == 0 {
		return fmt.Errorf("bridge result without an address: %s", out)
	}
	_, err = c.run("portmap", "ADD", id, netns, c.portmapConf(prev, hostPort))
	return err
}

// del runs DEL in reverse order.
func (c *cni) del(id, netns string, hostPort int) error {
	_, err := c.run("portmap", "DEL", id, netns, c.portmapConf(nil, hostPort))
	_, err2 := c.run("bridge", "DEL", id, netns, c.bridgeConf())
	return errors.Join(err, err2)
}

func (c *cni) run(plugin, command, id, netns string, conf map[string]any) ([]byte, error) {
	stdin, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(cniPlugins, plugin))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &stdout, &stderr
	cmd.Env = []string{
		"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + id, "CNI_IFNAME=eth0", "CNI_NETNS=" + netns,
		"CNI_PATH=" + cniPlugins, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	}
	if err := inNS(c.host, cmd.Run); err != nil {
		return nil, fmt.Errorf("%s %s %s: %w: %s%s", plugin, command, id, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// crunCNIRunner returns one round of the peer: a network namespace, CNI
// ADD, crun run, CNI DEL.
func crunCNIRunner(t *testing.T, host *os.File, rootfs string) func(int) error {
	netnsPath := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), nsFD)
	bundle := makeBundle(t, rootfs, netnsPath)
	crun := peer.NewCrunRunner(t, "state")
	c := &cni{host: host, dataDir: t.TempDir()}
	return func(i int) error {
		id := fmt.Sprintf("bench-%d", i)
		ns, err := newNetNS()
		if err != nil {
			return err
		}
		defer ns.Close()
		if err := unix.Dup3(int(ns.Fd()), nsFD, unix.O_CLOEXEC); err != nil {
			return err
		}
		defer unix.Close(nsFD)
		if err := c.add(id, netnsPath, 18081); err != nil {
			return err
		}
		err = crun(bundle, id)
		return errors.Join(err, c.del(id, netnsPath, 18081))
	}
}

// makeBundle writes an OCI bundle around rootfs from `runc spec`: /bin/true
// without a terminal, joining the network namespace at netns.
func makeBundle(t *testing.T, rootfs, netns string) string {
	dir := t.TempDir()
	cmd := exec.Command("runc", "spec")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v: %s", err, out)
	}
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	spec["root"] = map[string]any{"path": rootfs, "readonly": true}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/bin/true"}
	linux := spec["linux"].(map[string]any)
	nss := linux["namespaces"].([]any)
	for i, ns := range nss {
		if m := ns.(map[string]any); m["type"] == "network" {
			m["path"] = netns
			nss[i] = m
		}
	}
	if err := writeJSON(path, spec); err != nil {
		t.Fatal(err)
	}
	return dir
}
