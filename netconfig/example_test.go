package netconfig_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"strings"

	"github.com/berthlabs/berth/netconfig"
)

// Addresses come out in order; a released one is not handed out again
// before the pool has cycled.
func ExampleIPAM() {
	dir, _ := os.MkdirTemp("", "ipam")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	ipam, err := netconfig.NewIPAM(dir)
	if err != nil {
		panic(err)
	}
	_, err = ipam.CreatePool(ctx, netconfig.Pool{Name: "default", Subnets: []netconfig.Subnet{
		{Prefix: netip.MustParsePrefix("10.88.0.0/16")},
		{Prefix: netip.MustParsePrefix("fd00:88::/64")},
	}})
	if err != nil {
		panic(err)
	}
	a, _ := ipam.Allocate(ctx, "default", "web-1")
	b, _ := ipam.Allocate(ctx, "default", "web-2")
	fmt.Println("web-1:", a.Addresses, "via", a.Gateways)
	fmt.Println("web-2:", b.Addresses)
	_ = ipam.Release(ctx, "default", "web-1")
	c, _ := ipam.Allocate(ctx, "default", "web-3")
	fmt.Println("web-3:", c.Addresses)

	_, err = ipam.CreatePool(ctx, netconfig.Pool{Name: "other", Subnets: []netconfig.Subnet{
		{Prefix: netip.MustParsePrefix("10.88.16.0/24")},
	}})
	fmt.Println("overlap:", errors.Is(err, netconfig.ErrOverlap))
	// Output:
	// web-1: [10.88.0.2/16 fd00:88::2/64] via [10.88.0.1 fd00:88::1]
	// web-2: [10.88.0.3/16 fd00:88::3/64]
	// web-3: [10.88.0.4/16 fd00:88::4/64]
	// overlap: true
}

// The host's loopback name server (a local cache) would not answer inside
// the container's namespace, so it is left out.
func ExampleResolvConf() {
	host := strings.NewReader("nameserver 127.0.0.53\nnameserver 192.168.1.1\nsearch example.com\noptions edns0\n")
	out, err := netconfig.ResolvConf(host, netconfig.DNS{})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(out))
	// Output:
	// nameserver 192.168.1.1
	// search example.com
	// options edns0
}

// EtcFiles takes the resolved Config of an attachment, whose interfaces
// carry their leased addresses.
func ExampleEtcFiles() {
	cfg := netconfig.Config{
		ID:         "3f2a9c1d0b7e4a55",
		Interfaces: []netconfig.Interface{{Addresses: []netip.Prefix{netip.MustParsePrefix("10.88.0.2/16")}}},
		DNS:        netconfig.DNS{Servers: []netip.Addr{netip.MustParseAddr("10.88.0.1")}},
		Hosts:      []netconfig.Host{{Addr: netip.MustParseAddr("10.88.0.3"), Names: []string{"db"}}},
	}
	files, err := netconfig.EtcFiles(cfg, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("/etc/hostname: %s", files.Hostname)
	fmt.Printf("/etc/resolv.conf: %s", files.ResolvConf)
	fmt.Printf("/etc/hosts:\n%s", files.Hosts)
	// Output:
	// /etc/hostname: 3f2a9c1d0b7e
	// /etc/resolv.conf: nameserver 10.88.0.1
	// /etc/hosts:
	// 127.0.0.1	localhost
	// ::1	localhost ip6-localhost ip6-loopback
	// fe00::	ip6-localnet
	// ff00::	ip6-mcastprefix
	// ff02::1	ip6-allnodes
	// ff02::2	ip6-allrouters
	// 10.88.0.2	3f2a9c1d0b7e
	// 10.88.0.3	db
}

// Validate catches a bad Config before anything is created; the kernel
// limits interface names to 15 bytes.
func ExampleConfig_Validate() {
	cfg := netconfig.Config{
		ID:         "web-1",
		Interfaces: []netconfig.Interface{{Name: "container-eth0", Bridge: "berth0"}, {Name: "a-name-too-long-for-linux"}},
	}
	err := cfg.Validate()
	fmt.Println(errors.Is(err, fs.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// interface 1: interface name "a-name-too-long-for-linux" is 25 bytes, longer than the kernel's limit of 15: invalid argument
}

// Leases whose owner is gone are reclaimed. Here the owner check consults a
// runtime's own list of live containers instead of process IDs.
func ExampleIPAM_Reclaim() {
	dir, _ := os.MkdirTemp("", "ipam")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	running := map[string]bool{"web-1": true}
	ipam, _ := netconfig.NewIPAM(dir, netconfig.WithOwnerCheck(func(l netconfig.Lease) bool {
		return running[l.Owner]
	}))
	_, _ = ipam.CreatePool(ctx, netconfig.Pool{Name: "default", Subnets: []netconfig.Subnet{
		{Prefix: netip.MustParsePrefix("10.88.0.0/30")}, // a single usable address
	}})
	_, _ = ipam.Allocate(ctx, "default", "web-1")
	_, err := ipam.Allocate(ctx, "default", "web-2")
	fmt.Println("web-2:", errors.Is(err, netconfig.ErrExhausted))

	delete(running, "web-1") // web-1 died without releasing its lease
	l, err := ipam.Allocate(ctx, "default", "web-2")
	fmt.Println("web-2:", l.Addresses, err)
	// Output:
	// web-2: true
	// web-2: [10.88.0.2/30] <nil>
}
