package layers_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/layers"
	lt "github.com/berthlabs/berth/layers/layertest"
)

func ExampleChainID() {
	diffIDs := []digest.Digest{
		digest.FromString("layer one"),
		digest.FromString("layer two"),
	}
	fmt.Println(layers.ChainID(diffIDs[:1]) == diffIDs[0])
	fmt.Println(layers.ChainID(diffIDs))
	// Output:
	// true
	// sha256:d440fc2ac5bfa225471b58c5d6b4283504f5dfbcd6251023a635cdcd0c058e3e
}

// Apply a layer with a whiteout on top of another, then list the tree.
func ExampleApply() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	base := lt.MustTar(lt.File("etc/motd", "hello\n", 0o644), lt.File("etc/old", "x", 0o644))
	top := lt.MustTar(lt.Whiteout("etc/old"), lt.File("etc/new", "fresh\n", 0o600))
	for _, layer := range [][]byte{base, top} {
		diffID, err := layers.Apply(context.Background(), dir, bytes.NewReader(layer),
			&layers.ApplyOptions{Unprivileged: true})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(diffID == digest.FromBytes(layer))
	}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		info, _ := d.Info()
		fmt.Println(rel, info.Mode())
		return nil
	})
	// Output:
	// true
	// true
	// . drwx------
	// etc drwxr-xr-x
	// etc/motd -rw-r--r--
	// etc/new -rw-------
}

// Store an image in an OCI layout, as skopeo and umoci read it.
func ExampleNewLayout() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "layout")
	defer os.RemoveAll(dir)
	store, err := layers.NewLayout(ctx, dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	layer := lt.MustTar(lt.File("hello.txt", "hi\n", 0o644))
	ldesc, diffID, _ := layers.PutLayer(ctx, store, bytes.NewReader(layer), layers.Gzip)
	config := ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"},
		RootFS:   ocispec.RootFS{DiffIDs: []digest.Digest{diffID}},
	}
	mdesc, _ := layers.PutImage(ctx, store, config, []ocispec.Descriptor{ldesc}, nil)
	_ = store.Tag(ctx, "v1", mdesc)

	got, _ := store.Resolve(ctx, "v1")
	fmt.Println(got.Digest == mdesc.Digest, ldesc.MediaType)
	store.Walk(ctx, func(b layers.BlobInfo) error {
		if b.Digest == ldesc.Digest {
			fmt.Println("layer blob stored, verified size", b.Size == ldesc.Size)
		}
		return nil
	})
	// Output:
	// true application/vnd.oci.image.layer.v1.tar+gzip
	// layer blob stored, verified size true
}

// Snapshots without root: prepare, extract, commit, and diff a change.
func ExampleNewCopy() {
	ctx := context.Background()
	root, _ := os.MkdirTemp("", "snapshots")
	defer os.RemoveAll(root)
	sn, err := layers.NewCopy(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sn.Close()
	unpriv := &layers.ApplyOptions{Unprivileged: true}
	layer := lt.MustTar(lt.File("app/config", "v=1\n", 0o644))

	_, _ = sn.Prepare(ctx, "extract", "")
	diffID, _ := sn.ApplyLayer(ctx, "extract", bytes.NewReader(layer), unpriv)
	chainID := layers.ChainID([]digest.Digest{diffID})
	_ = sn.Commit(ctx, chainID.String(), "extract")

	mounts, _ := sn.Prepare(ctx, "container", chainID.String())
	rootfs := mounts[0].Source // a bind mount: usable as a directory without root
	_ = os.WriteFile(filepath.Join(rootfs, "app/config"), []byte("v=2\n"), 0o644)
	var change bytes.Buffer
	_, _ = sn.Diff(ctx, "container", &change, nil)
	fmt.Println(mounts[0].Type, len(change.Bytes()) > 0)
	info, _ := sn.Stat(ctx, "container")
	fmt.Println(info.Kind, info.Parent == chainID.String())
	// Output:
	// bind true
	// active true
}
