package namespaces_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/berthlabs/berth/namespaces"
)

// TestMain makes the test binary its own init: processes started by
// namespaces.Command run their entrypoint here instead of the tests.
func TestMain(m *testing.M) {
	if handled, err := namespaces.Dispatch(context.Background()); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// Make the sealed binary now, so that the leak checks of the tests do
	// not report its descriptor, which lives as long as the process.
	// Both of its descriptors: the one children resolve through this
	// process, and the one children in a user namespace resolve in their
	// own table.
	for _, k := range []namespaces.Kind{0, namespaces.User} {
		if _, err := namespaces.Command(context.Background(), "test-args", k); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}
