package berth_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/berthlabs/berth"
)

// A setup failure is an *InitError naming the stage; its cause matches the
// standard errors. (Checking the fields needs no privileges.)
func ExampleInitError() {
	c := &berth.Container{RootFS: "/srv/rootfs"} // no Args
	err := c.Start(context.Background())
	var ie *berth.InitError
	if errors.As(err, &ie) {
		fmt.Println("stage:", ie.Stage)
		fmt.Println("invalid:", errors.Is(err, fs.ErrInvalid))
	}
	// Output:
	// stage: config
	// invalid: true
}

// List reads a state directory; an empty one lists nothing.
func ExampleList() {
	dir, err := os.MkdirTemp("", "berth-state-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	states, err := berth.List(context.Background(), dir)
	fmt.Println(len(states), err)
	// Output: 0 <nil>
}
