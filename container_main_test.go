package berth_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/berthlabs/berth"
	"github.com/berthlabs/berth/namespaces"
)

func TestMain(m *testing.M) {
	if handled, err := berth.Dispatch(context.Background()); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Make the sealed copy of the test binary now, so that the leak checks
	// of the tests do not count its descriptor.
	if _, err := namespaces.Command(context.Background(), "berth-init", 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
