package berth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/layers"
)

// Build a small image from a Dockerfile without privileges: FROM scratch,
// COPY and metadata need no container, and the copy snapshotter needs no
// mounts. The second build finds every step in the cache and gives the
// same image.
func ExampleBuild() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "berth-example-")
	defer os.RemoveAll(dir)
	contextDir := filepath.Join(dir, "context")
	_ = os.MkdirAll(filepath.Join(contextDir, "site"), 0o755)
	_ = os.WriteFile(filepath.Join(contextDir, "Dockerfile"), []byte(`FROM scratch
COPY site/ /srv/www/
ENV GREETING=hello
EXPOSE 8080
CMD ["/srv/www/index.html"]
`), 0o644)
	_ = os.WriteFile(filepath.Join(contextDir, "site", "index.html"), []byte("<h1>hi</h1>\n"), 0o644)

	store, err := berth.OpenImageStore(ctx, filepath.Join(dir, "images"))
	if err != nil {
		fmt.Println(err)
		return
	}
	sn, err := layers.NewCopy(filepath.Join(dir, "snapshots"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer sn.Close()
	opts := &berth.BuildOptions{Store: store, Snapshotter: sn, Tags: []string{"site:1"},
		Progress: func(ev berth.BuildEvent) {
			if ev.Kind != berth.StepStarted && ev.Kind != berth.BuildDone {
				fmt.Printf("%-28s %s\n", ev.Instruction, ev.Kind)
			}
		}}
	img, err := berth.Build(ctx, contextDir, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := img.Config()
	fmt.Println("layers:", len(img.Layers()), "env:", cfg.Config.Env[1], "cmd:", cfg.Config.Cmd)

	again, err := berth.Build(ctx, contextDir, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("same image:", again.Digest() == img.Digest())
	// Output:
	// FROM scratch                 done
	// COPY site/ /srv/www/         done
	// ENV GREETING=hello           done
	// EXPOSE 8080                  done
	// CMD ["/srv/www/index.html"]  done
	// layers: 1 env: GREETING=hello cmd: [/srv/www/index.html]
	// FROM scratch                 done
	// COPY site/ /srv/www/         cached
	// ENV GREETING=hello           done
	// EXPOSE 8080                  done
	// CMD ["/srv/www/index.html"]  done
	// same image: true
}
