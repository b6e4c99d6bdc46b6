package layers_test

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// helperEnv names the role a re-executed test binary plays.
const helperEnv = "BERTH_LAYERS_TEST_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		if err := runHelper(context.Background(), role); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
