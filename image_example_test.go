package berth_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
)

// rootfsTarball builds a tiny root filesystem tarball in memory.
func rootfsTarball() *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "etc/", Mode: 0o755, ModTime: mtime})
	msg := "hello from a tarball\n"
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "etc/motd", Mode: 0o644, Size: int64(len(msg)), ModTime: mtime})
	_, _ = tw.Write([]byte(msg))
	_ = tw.Close()
	return &buf
}

// Import a root filesystem tarball as a one-layer image (like "docker
// import"), give it another name, and list the store (like "docker
// images").
func ExampleImageStore_ImportRootfs() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "images")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := berth.OpenImageStore(ctx, dir)
	if err != nil {
		log.Fatal(err)
	}

	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) // fixed, for a reproducible digest
	info, err := store.ImportRootfs(ctx, rootfsTarball(), &berth.RootfsOptions{
		Names:    []string{"hello:1.0"},
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Changes:  []string{`CMD ["/bin/sh"]`, "ENV LANG=C.UTF-8"},
		Created:  &created,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("imported", info.Names, info.Image.Config().Config.Cmd)

	if err := store.Tag(ctx, "hello:1.0", "localhost:5000/hello"); err != nil {
		log.Fatal(err)
	}
	images, err := store.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, img := range images {
		for _, name := range img.Names {
			r, _ := berth.ParseReference(name)
			fmt.Printf("%-22s %-7s %s %d layer(s)\n", r.FamiliarName(), r.Tag, img.Image.ID().Encoded()[:12], len(img.Image.Layers()))
		}
	}
	// Output:
	// imported [docker.io/library/hello:1.0] [/bin/sh]
	// hello                  1.0     9be6af506c01 1 layer(s)
	// localhost:5000/hello   latest  9be6af506c01 1 layer(s)
}

// Export an image as an OCI image layout directory, which skopeo
// ("oci:DIR:NAME"), umoci and ImportLayout read, and look at its index.
func ExampleImageStore_ExportLayout() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "images")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := berth.OpenImageStore(ctx, filepath.Join(dir, "store"))
	if err != nil {
		log.Fatal(err)
	}
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = store.ImportRootfs(ctx, rootfsTarball(), &berth.RootfsOptions{
		Names:    []string{"hello:1.0"},
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		Created:  &created,
	})
	if err != nil {
		log.Fatal(err)
	}

	out := filepath.Join(dir, "layout")
	if err := store.ExportLayout(ctx, out, []string{"hello:1.0"}); err != nil {
		log.Fatal(err)
	}
	idx, err := layers.Layout(out).Index(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range idx.Manifests {
		fmt.Println(m.Annotations[ocispec.AnnotationRefName], m.MediaType, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	blobs, _ := os.ReadDir(filepath.Join(out, "blobs", "sha256"))
	fmt.Println(len(blobs), "blobs: manifest, config, layer")

	// The layout imports back, here into a second store.
	other, err := berth.OpenImageStore(ctx, filepath.Join(dir, "other"))
	if err != nil {
		log.Fatal(err)
	}
	infos, err := other.ImportLayout(ctx, out, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Join(infos[0].Names, ","))
	// Output:
	// docker.io/library/hello:1.0 application/vnd.oci.image.manifest.v1+json linux/amd64
	// 3 blobs: manifest, config, layer
	// docker.io/library/hello:1.0
}
