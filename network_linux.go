package berth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berthlabs/berth/internal/initproto"
	"github.com/berthlabs/berth/namespaces"
	"github.com/berthlabs/berth/netconfig"
)

// etcFiles are the files a container with a Network gets, by their name in
// its state directory and their path in the container.
var etcFiles = []struct{ name, target string }{
	{"hosts", "/etc/hosts"}, {"resolv.conf", "/etc/resolv.conf"}, {"hostname", "/etc/hostname"},
}

// networkLock serialises the /etc/hosts updates of a state directory's
// bridge containers.
const networkLock = "network.lock"

// etcMounts returns the bind mounts of st's /etc files, none without a
// Network.
func (s *store) etcMounts(st *State) []namespaces.MountSpec {
	if st.Network == nil {
		return nil
	}
	var out []namespaces.MountSpec
	for _, f := range etcFiles {
		out = append(out, namespaces.MountSpec{Source: filepath.Join(s.containerDir(st.ID), f.name), Target: f.target, Type: "bind", Options: []string{"bind"}})
	}
	return out
}

// attachNetwork connects the spawned init as st.Network says and writes
// the container's /etc files. For a bridge the resolved Config is recorded
// in the state before the other containers' /etc/hosts learn about it.
func (s *starting) attachNetwork(ctx context.Context) error {
	n := s.st.Network
	if n == nil {
		return nil
	}
	if n.Mode != NetworkBridge {
		return s.wrapNet(s.writeEtc(n.Config))
	}
	hostNS, err := openNetNS(n.HostNetNS)
	if err != nil {
		return s.wrapNet(err)
	}
	if hostNS != nil {
		defer hostNS.Close()
	}
	path := s.netns
	if path == "" {
		path = fmt.Sprintf("/proc/%d/ns/net", s.st.PID)
	}
	ctrNS, err := os.Open(path)
	if err != nil {
		return s.wrapNet(err)
	}
	defer ctrNS.Close()
	att, err := netconfig.Attach(ctx, hostNS, ctrNS, n.Config)
	if err != nil {
		return s.wrapNet(err)
	}
	s.host.att = att
	// A direct start records the child's PID meanwhile (recordChild).
	s.stMu.Lock()
	n.Config = att.Config()
	err = s.store.update(s.st)
	s.stMu.Unlock()
	if err != nil {
		return s.wrapNet(err)
	}
	if err := s.writeEtc(n.Config); err != nil {
		return s.wrapNet(err)
	}
	if s.netns != "" {
		return nil // a direct start: refreshPeers once the PID is known
	}
	return s.refreshPeers()
}

// refreshPeers rewrites the /etc/hosts of every container on the bridge,
// this one included once its PID is recorded.
func (s *starting) refreshPeers() error {
	if n := s.st.Network; n != nil && n.Mode == NetworkBridge {
		return s.wrapNet(s.store.refreshHosts(n.bridge(), ""))
	}
	return nil
}

func (s *starting) wrapNet(err error) error {
	if err == nil {
		return nil
	}
	return &InitError{Stage: initproto.StageNetwork, Err: err}
}

// writeEtc writes the container's hosts, resolv.conf and hostname files
// into its state directory. A host-mode container's hosts file is the
// host's with the extra entries appended.
func (s *starting) writeEtc(cfg netconfig.Config) error {
	resolv, err := readOptional("/etc/resolv.conf")
	if err != nil {
		return err
	}
	files, err := netconfig.EtcFiles(cfg, bytes.NewReader(resolv))
	if err != nil {
		return err
	}
	if s.st.Network.Mode == NetworkHost {
		if files.Hosts, err = hostModeHosts(cfg.Hosts); err != nil {
			return err
		}
	}
	dir := s.store.containerDir(s.st.ID)
	for _, f := range []struct {
		name string
		data []byte
	}{{"hosts", files.Hosts}, {"resolv.conf", files.ResolvConf}, {"hostname", files.Hostname}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostModeHosts is the host's /etc/hosts followed by extra.
func hostModeHosts(extra []netconfig.Host) ([]byte, error) {
	base, err := readOptional("/etc/hosts")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Write(base)
	if len(base) > 0 && base[len(base)-1] != '\n' {
		b.WriteByte('\n')
	}
	for _, h := range extra {
		if !h.Addr.IsValid() || len(h.Names) == 0 {
			return nil, fmt.Errorf("hosts entry %v %v: %w", h.Addr, h.Names, fs.ErrInvalid)
		}
		fmt.Fprintf(&b, "%s", h.Addr)
		for _, n := range h.Names {
			fmt.Fprintf(&b, "\t%s", n)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// readOptional reads a file that may be missing (then nil).
func readOptional(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// refreshHosts rewrites /etc/hosts of every live container on bridge
// (except skip, which is leaving), so that each lists all the others. It
// writes the files in place: they are bind-mounted into the containers.
func (s *store) refreshHosts(bridge, skip string) error {
	if bridge == "" {
		return nil
	}
	unlock, err := lockFile(filepath.Join(s.dir, networkLock))
	if err != nil {
		return err
	}
	defer unlock()
	states, _, err := s.list()
	if err != nil {
		return err
	}
	var members []member
	for _, st := range states {
		if st.ID == skip || st.Network.bridge() != bridge || st.Status == StatusExited || !alive(st.PID, st.PIDStart) {
			continue
		}
		members = append(members, memberOf(st))
	}
	var errs []error
	for _, m := range members {
		data, err := hostsFor(m, members)
		if err == nil {
			err = writeInPlace(filepath.Join(s.containerDir(m.id), "hosts"), data)
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("updating /etc/hosts of %q: %w", m.id, err))
		}
	}
	return errors.Join(errs...)
}

// writeInPlace replaces the content of the existing file path without
// replacing the file, which a container has bind-mounted.
func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, bytes.NewReader(data))
	return errors.Join(err, f.Close())
}
