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
	if _, err := namespaces.Command(context.Background(), "test-args", 0); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
