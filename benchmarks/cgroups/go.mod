module github.com/berthlabs/berth/benchmarks/cgroups

go 1.26.0

require (
	github.com/berthlabs/berth v0.0.0
	github.com/containerd/cgroups/v3 v3.1.3
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/cilium/ebpf v0.16.0 // indirect
	github.com/containerd/log v0.1.0 // indirect
	github.com/coreos/go-systemd/v22 v22.5.0 // indirect
	github.com/docker/go-units v0.5.0 // indirect
	github.com/godbus/dbus/v5 v5.1.0 // indirect
	github.com/moby/sys/userns v0.1.0 // indirect
	github.com/opencontainers/runtime-spec v1.3.0 // indirect
	github.com/sirupsen/logrus v1.9.3 // indirect
	github.com/vishvananda/netlink v1.3.1 // indirect
	github.com/vishvananda/netns v0.0.5 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/exp v0.0.0-20241108190413-2d47ceb2692f // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.35.2 // indirect
)

replace github.com/berthlabs/berth => ../..
