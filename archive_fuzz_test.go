package berth_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/berthlabs/berth"
	lt "github.com/berthlabs/berth/layers/layertest"
)

// FuzzImport feeds mutated oci- and docker-archives to Import: it must
// never panic, and whatever it accepts must load and list.
func FuzzImport(f *testing.F) {
	ctx := context.Background()
	src, err := berth.OpenImageStore(ctx, f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	if _, err := src.ImportRootfs(ctx, bytes.NewReader(lt.MustTar(lt.File("a", "b", 0o644))),
		&berth.RootfsOptions{Names: []string{"seed:1"}, Created: &testCreated}); err != nil {
		f.Fatal(err)
	}
	for _, format := range []berth.ArchiveFormat{berth.OCIArchive, berth.DockerArchive} {
		var buf bytes.Buffer
		if err := src.Export(ctx, &buf, []string{"seed:1"}, &berth.ExportOptions{Format: format}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add(lt.MustTar(lt.File("manifest.json", `[{"Config":"c.json","Layers":["../x"]}]`, 0o644)))
	f.Add(lt.MustTar(lt.File("index.json", `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":3}]}`, 0o644)))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := berth.OpenImageStore(t.Context(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		infos, err := s.Import(t.Context(), bytes.NewReader(data), nil)
		if err != nil {
			return
		}
		for _, info := range infos {
			if _, err := s.Get(t.Context(), info.Image.Digest().String()); err != nil {
				t.Fatalf("imported image %s does not load: %v", info.Image.Digest(), err)
			}
		}
		if _, err := s.List(t.Context()); err != nil {
			t.Fatalf("listing after an import: %v", err)
		}
	})
}
