package berth_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth"
)

// A Runtime owns the images, snapshots and IP leases of a program. Here
// one is opened in a temporary directory, an image is imported from a
// root filesystem tarball, and a container is made from it, with the
// image's command as its Args. Starting it (c.Start) needs root.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "berth-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	rt, err := berth.Open(filepath.Join(dir, "root"), berth.WithStateDir(filepath.Join(dir, "state")),
		berth.WithSnapshotter("copy"))
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close()

	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	_ = tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: 3})
	_, _ = tw.Write([]byte("hi\n"))
	_ = tw.Close()
	ctx := context.Background()
	info, err := rt.Images().ImportRootfs(ctx, &layer, &berth.RootfsOptions{
		Names: []string{"hello:1"}, Config: ocispec.ImageConfig{Cmd: []string{"/hello"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Names)

	c := rt.NewContainer(info.Image)
	c.Network = &berth.Network{Mode: berth.NetworkBridge} // on the runtime's bridge, berth0
	fmt.Println(c.Args, c.StateDir == rt.StateDir())
	// Output:
	// [docker.io/library/hello:1]
	// [/hello] true
}
