package netconfig

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Asking for the link state reads only, which needs no privilege.
func TestSyncLink(t *testing.T) {
	c, err := dialRT(nil)
	require.NoError(t, err)
	t.Cleanup(func() { c.close() })

	require.NoError(t, c.syncLink("lo"), "loopback answers ETHTOOL_GLINK")
	err = c.syncLink("nosuch0")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorIs(t, err, unix.ENODEV)
	assert.ErrorIs(t, c.syncLink("a-name-far-too-long"), fs.ErrInvalid)

	require.NoError(t, c.close())
	assert.ErrorIs(t, c.syncLink("lo"), fs.ErrClosed)
}

// A link without the ethtool operation (an ifb device has no ethtool
// operations at all) is settled with a GETLINK request instead.
func TestSettleLinksWithoutEthtool(t *testing.T) {
	requireNetPrivileges(t)
	ns := newNetNS(t)
	c, err := dialRT(ns)
	require.NoError(t, err)
	t.Cleanup(func() { c.close() })

	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated("ifb0")))
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("ifb"))
	req.AddData(info)
	if _, err := c.do1(req); errors.Is(err, unix.EOPNOTSUPP) {
		t.Skip("the kernel has no ifb devices:", err)
	} else {
		require.NoError(t, err)
	}

	assert.ErrorIs(t, c.syncLink("ifb0"), errors.ErrUnsupported)
	require.NoError(t, settleLinks(c, []Interface{{HostName: "ifb0"}}))
	err = settleLinks(c, []Interface{{HostName: "lo", Bridge: "nosuch0"}})
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, `settling bridge "nosuch0"`)
}
