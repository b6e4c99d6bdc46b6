package testutil

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

func TestNetNS(t *testing.T) {
	RequireRoot(t)
	CheckLeaks(t)
	path := NetNS(t)

	ns, err := netns.GetFromPath(path)
	require.NoError(t, err)
	defer ns.Close()
	self, err := netns.Get()
	require.NoError(t, err)
	defer self.Close()
	assert.False(t, ns.Equal(self), "a new namespace, not this process's")

	h, err := netlink.NewHandleAt(ns)
	require.NoError(t, err)
	defer h.Close()
	links, err := h.LinkList()
	require.NoError(t, err)
	require.Len(t, links, 1)
	assert.Equal(t, "lo", links[0].Attrs().Name)
	assert.NotZero(t, links[0].Attrs().RawFlags&1, "lo is up")

	// The thread that made it is gone; this goroutine's thread is untouched.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cur, err := netns.Get()
	require.NoError(t, err)
	defer cur.Close()
	assert.True(t, cur.Equal(self))
	_, err = os.Stat(path)
	assert.NoError(t, err)
}
