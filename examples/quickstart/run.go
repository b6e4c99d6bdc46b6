package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/cgroups"
	"github.com/berthlabs/berth/netconfig"
)

// runContainer starts the image with a memory limit on the bridge, its
// exposed port published on 127.0.0.1, and returns the host address.
func (e *env) runContainer(ctx context.Context, r *report, img *berth.Image, o options) (string, error) {
	port, err := exposedPort(img)
	if err != nil {
		return "", err
	}
	limit := o.memory << 20
	r.step(3, "running it: %d MiB memory limit, bridge network, 127.0.0.1:%s -> %d/tcp", o.memory, hostPortText(o.port), port)
	start := time.Now()
	ctr := e.rt.NewContainer(img)
	ctr.Resources = &cgroups.Resources{Memory: &cgroups.Memory{Max: &limit}}
	ctr.Network = &berth.Network{Mode: berth.NetworkBridge, Ports: []netconfig.Port{
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: uint16(o.port), ContainerPort: port}}}
	out := &lineWriter{r: r, prefix: "app | "}
	ctr.Stdout, ctr.Stderr = out, out
	if err := ctr.Start(ctx); err != nil {
		return "", fmt.Errorf("starting the container: %w", err)
	}
	e.ctr = ctr
	st, err := ctr.State(ctx)
	if err != nil {
		return "", err
	}
	if st.Network == nil || len(st.Network.Config.Ports) == 0 {
		return "", errors.New("the container's state records no published port")
	}
	hostPort := st.Network.Config.Ports[0].HostPort
	r.detail("container %s (PID %d) at %v, started in %s", ctr.ID[:12], ctr.PID(), st.Network.Addrs(), since(start))
	return "127.0.0.1:" + strconv.Itoa(int(hostPort)), nil
}

func hostPortText(p uint) string {
	if p == 0 {
		return "(any free port)"
	}
	return strconv.Itoa(int(p))
}

// exposedPort returns the lowest TCP port the image's EXPOSE declares.
func exposedPort(img *berth.Image) (uint16, error) {
	var ports []int
	for p := range img.Config().Config.ExposedPorts {
		num, proto, _ := strings.Cut(p, "/")
		if proto != "" && proto != "tcp" {
			continue
		}
		if n, err := strconv.ParseUint(num, 10, 16); err == nil && n > 0 {
			ports = append(ports, int(n))
		}
	}
	if len(ports) == 0 {
		return 0, errors.New("the image exposes no TCP port")
	}
	sort.Ints(ports)
	return uint16(ports[0]), nil
}

// get fetches url, retrying while the server is not yet listening, for
// up to wait. It returns the status line and the body.
func get(ctx context.Context, url string, wait time.Duration) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", "", err
		}
		resp, err := client.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			return resp.Status, string(body), rerr
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
