package compose

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/berthlabs/berth"
)

func TestMain(m *testing.M) {
	if handled, err := berth.Dispatch(context.Background()); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
