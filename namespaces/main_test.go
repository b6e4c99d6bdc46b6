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
	os.Exit(m.Run())
}
