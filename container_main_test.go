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
	// Both of its descriptors: the one children resolve through this
	// process, and the one children in a user namespace resolve in their
	// own table.
	for _, k := range []namespaces.Kind{0, namespaces.User} {
		if _, err := namespaces.Command(context.Background(), "berth-init", k); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}
