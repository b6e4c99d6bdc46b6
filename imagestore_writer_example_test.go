package berth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
)

// Write an image whose config carries Docker's fields that ocispec.Image
// lacks (here a HEALTHCHECK), then name it. The config is stored byte for
// byte, so its digest, the image ID, is that of the JSON written.
func ExampleImageWriter_WriteRawImage() {
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
	w, err := store.NewWriter(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	layer, diffID, err := w.WriteLayer(ctx, rootfsTarball(), layers.Uncompressed)
	if err != nil {
		log.Fatal(err)
	}

	var config struct {
		ocispec.Image
		Config struct {
			ocispec.ImageConfig
			Healthcheck struct{ Test []string } `json:"Healthcheck"`
		} `json:"config"`
	}
	config.OS, config.Architecture = "linux", "amd64"
	config.Config.Cmd = []string{"/bin/sh"}
	config.Config.Healthcheck.Test = []string{"CMD", "/bin/true"}
	config.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{diffID}}
	raw, err := json.Marshal(config)
	if err != nil {
		log.Fatal(err)
	}

	img, err := w.WriteRawImage(ctx, raw, []ocispec.Descriptor{layer}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := store.Tag(ctx, img.Digest().String(), "checked:1"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("image ID is the raw config's digest:", img.ID() == digest.FromBytes(raw))
	fmt.Println("cmd:", img.Config().Config.Cmd)
	info, err := store.Inspect(ctx, "checked:1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("names:", info.Names)
	// Output:
	// image ID is the raw config's digest: true
	// cmd: [/bin/sh]
	// names: [docker.io/library/checked:1]
}
