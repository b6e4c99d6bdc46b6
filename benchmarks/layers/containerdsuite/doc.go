// Package containerdsuite adapts the snapshotters of
// github.com/berthlabs/berth/layers to containerd's snapshots.Snapshotter
// interface, so that containerd's own snapshotter test suite
// (core/snapshots/testsuite) runs against them. It lives in a module of
// its own, so that the main module never depends on containerd.
//
// Run it as root (the suite mounts):
//
//	cd benchmarks/layers && go test ./containerdsuite/
package containerdsuite
