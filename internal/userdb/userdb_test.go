package userdb

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const passwd = `# comment
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:A User:/home/user:/bin/sh
broken:x:abc:0::/:/bin/sh
short:x:1
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
nohome:x:1001:1001:::/bin/sh
`

const group = `root:x:0:
wheel:x:10:root,user
audio:x:29:user
user:x:1000:
bad:x:nope:user
nogroup:x:65534:
`

func parse(t *testing.T) ([]User, []Group) {
	t.Helper()
	u, err := ParsePasswd(strings.NewReader(passwd))
	require.NoError(t, err)
	g, err := ParseGroup(strings.NewReader(group))
	require.NoError(t, err)
	return u, g
}

func TestParse(t *testing.T) {
	u, g := parse(t)
	assert.Len(t, u, 4, "malformed lines are skipped")
	assert.Equal(t, User{Name: "user", UID: 1000, GID: 1000, Home: "/home/user", Shell: "/bin/sh"}, u[1])
	assert.Len(t, g, 5)
	assert.Equal(t, []string{"root", "user"}, g[1].Members)
}

func TestParseTooLarge(t *testing.T) {
	big := strings.Repeat("a:x:1:1::/:/bin/sh\n", MaxFileSize/10)
	_, err := ParsePasswd(strings.NewReader(big))
	require.Error(t, err)
}

func TestResolve(t *testing.T) {
	users, groups := parse(t)
	tests := []struct {
		name       string
		spec       string
		additional []string
		want       *ExecUser
		unknown    bool
		bad        bool
	}{
		{name: "empty is root", spec: "", want: &ExecUser{UID: 0, GID: 0, Groups: []uint32{10}, Home: "/root"}},
		{name: "name", spec: "user", want: &ExecUser{UID: 1000, GID: 1000, Groups: []uint32{10, 29}, Home: "/home/user"}},
		{name: "uid with entry", spec: "1000", want: &ExecUser{UID: 1000, GID: 1000, Groups: []uint32{10, 29}, Home: "/home/user"}},
		{name: "uid without entry", spec: "4242", want: &ExecUser{UID: 4242, GID: 0, Home: "/"}},
		{name: "uid:gid", spec: "4242:4343", want: &ExecUser{UID: 4242, GID: 4343, Home: "/"}},
		{name: "name:group name", spec: "user:audio", want: &ExecUser{UID: 1000, GID: 29, Home: "/home/user"}},
		{name: "additional", spec: "nobody", additional: []string{"audio", "77", "65534"}, want: &ExecUser{UID: 65534, GID: 65534, Groups: []uint32{29, 77}, Home: "/nonexistent"}},
		{name: "empty home", spec: "nohome", want: &ExecUser{UID: 1001, GID: 1001, Home: "/"}},
		{name: "unknown user", spec: "ghost", unknown: true},
		{name: "unknown group", spec: "user:ghosts", unknown: true},
		{name: "unknown additional", spec: "user", additional: []string{"ghosts"}, unknown: true},
		{name: "empty group", spec: "user:", bad: true},
		{name: "empty user", spec: ":10", bad: true},
		{name: "reserved id", spec: "4294967295", unknown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.spec, users, groups, tt.additional)
			switch {
			case tt.unknown:
				require.ErrorIs(t, err, ErrUnknownUser)
			case tt.bad:
				require.Error(t, err)
				assert.NotErrorIs(t, err, ErrUnknownUser)
			default:
				require.NoError(t, err)
				if tt.want.Groups == nil {
					tt.want.Groups = []uint32{}
				}
				if got.Groups == nil {
					got.Groups = []uint32{}
				}
				assert.Equal(t, tt.want, got)
			}
		})
	}
}

func FuzzParsePasswd(f *testing.F) {
	f.Add(passwd)
	f.Add(group)
	f.Fuzz(func(t *testing.T, s string) {
		u, _ := ParsePasswd(strings.NewReader(s))
		g, _ := ParseGroup(strings.NewReader(s))
		_, _ = Resolve("user:audio", u, g, []string{"x"})
	})
}
