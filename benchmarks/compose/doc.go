// Package compose holds the benchmark of issue 7: one container run on a
// bridge network with a published port, `berth run --rm --network bridge
// -p HOST:80 payload true`, against crun with the CNI bridge (host-local
// IPAM) and portmap plugins doing the same, interleaved round by round in
// one run. Everything network-related happens in a network namespace that
// plays the host. It needs root, crun and containernetworking-plugins
// (/usr/lib/cni). Results and the command are in RESULTS.md.
package compose
