package netconfig

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzConfig feeds arbitrary JSON configs to the pure functions: none may
// panic, and a Config that validates must give /etc files or a clear error.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"ID":"c1","IPAM":"/x","Interfaces":[{"Pool":"net","Bridge":"br0"}],"Ports":[{"ContainerPort":80}]}`))
	f.Add([]byte(`{"ID":"c1","Interfaces":[{"Name":"eth0","Addresses":["10.0.0.2/24","fd00::2/64"]}],"Routes":[{"Via":"10.0.0.1"}]}`))
	f.Add([]byte(`{"ID":"x","Ports":[{"Proto":"udp","HostIP":"::","ContainerPort":53}],"PortMode":1,"Hostname":"a.b"}`))
	f.Add([]byte(`{"ID":"x","DNS":{"Servers":["1.1.1.1"]},"Hosts":[{"Addr":"10.0.0.3","Names":["db"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Config
		if json.Unmarshal(data, &c) != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		r := c.withDefaults()
		for _, p := range r.Ports {
			_, _ = portTarget(&r, p)
		}
		_, _ = EtcFiles(r, bytes.NewReader(data))
	})
}

// FuzzResolvConf checks that any host resolv.conf is parsed without panic.
func FuzzResolvConf(f *testing.F) {
	f.Add([]byte("nameserver 127.0.0.53\nnameserver 10.0.0.1\nsearch a b\noptions ndots:2\n"))
	f.Add([]byte("nameserver fe80::1%eth0\ndomain x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ResolvConf(bytes.NewReader(data), DNS{})
	})
}
