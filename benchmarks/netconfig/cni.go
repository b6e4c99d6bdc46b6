package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// cniPlugins is where Debian's containernetworking-plugins installs them.
const cniPlugins = "/usr/lib/cni"

// cni runs the CNI bridge plugin with host-local IPAM, optionally chained
// with portmap, as a container runtime would: one process per plugin and
// command, started in the host namespace.
type cni struct {
	host    *os.File
	dataDir string
	bridge  string
	subnet  string
	portmap bool
}

func (c *cni) conf() map[string]any {
	return map[string]any{
		"cniVersion": "1.0.0", "name": "bench", "type": "bridge",
		"bridge": c.bridge, "isGateway": true, "ipMasq": false,
		"ipam": map[string]any{
			"type": "host-local", "dataDir": c.dataDir,
			"ranges": [][]map[string]string{{{"subnet": c.subnet}}},
			"routes": []map[string]string{{"dst": "0.0.0.0/0"}},
		},
	}
}

// add runs ADD for container id in namespace ns, then portmap if chained.
func (c *cni) add(id string, ns *os.File, hostPort int) error {
	conf := c.conf()
	out, err := c.run("bridge", "ADD", id, ns, conf)
	if err != nil || !c.portmap {
		return err
	}
	var prev map[string]any
	if err := json.Unmarshal(out, &prev); err != nil {
		return fmt.Errorf("bridge result: %w", err)
	}
	_, err = c.run("portmap", "ADD", id, ns, c.portmapConf(prev, hostPort))
	return err
}

// del runs DEL in reverse order.
func (c *cni) del(id string, ns *os.File, hostPort int) error {
	if c.portmap {
		if _, err := c.run("portmap", "DEL", id, ns, c.portmapConf(nil, hostPort)); err != nil {
			return err
		}
	}
	_, err := c.run("bridge", "DEL", id, ns, c.conf())
	return err
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

func (c *cni) run(plugin, command, id string, ns *os.File, conf map[string]any) ([]byte, error) {
	stdin, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(filepath.Join(cniPlugins, plugin))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(stdin), &stdout, &stderr
	cmd.Env = []string{
		"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + id, "CNI_IFNAME=eth0",
		"CNI_NETNS=" + fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.Fd()),
		"CNI_PATH=" + cniPlugins, "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	}
	// Started from a thread in the host namespace, the plugin runs there.
	err = inNS(c.host, cmd.Run)
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w: %s%s", plugin, command, id, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes(), nil
}
