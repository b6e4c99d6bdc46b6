package userdb

import (
	"fmt"
	"slices"
	"strings"
)

// ExecUser is the identity a container process runs with.
type ExecUser struct {
	UID uint32
	GID uint32
	// Groups are the supplementary groups, without GID, sorted, without duplicates.
	Groups []uint32
	// Home is the user's home directory from passwd, or "/" when unknown.
	Home string
}

// Resolve turns spec into an ExecUser, with Docker's rules:
//
//   - "" means root (uid 0), with root's passwd entry if it exists.
//   - "name" or "uid": the passwd entry gives the primary group and home;
//     a numeric uid without an entry gets gid 0 and home "/".
//   - "user:group": group is a name or a gid; a numeric gid need not exist.
//   - Supplementary groups are those of the group database that list the
//     user's name, plus additional (names or numeric gids), unless an
//     explicit group was given, in which case only additional is added.
//
// An unknown user or group name is an error wrapping [ErrUnknownUser].
func Resolve(spec string, users []User, groups []Group, additional []string) (*ExecUser, error) {
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if hasGroup && groupPart == "" {
		return nil, fmt.Errorf("user %q: empty group", spec)
	}
	if userPart == "" {
		if hasGroup {
			return nil, fmt.Errorf("user %q: empty user", spec)
		}
		userPart = "0"
	}
	eu, pw, err := resolveUser(userPart, users)
	if err != nil {
		return nil, err
	}
	if hasGroup {
		gid, err := resolveGroup(groupPart, groups)
		if err != nil {
			return nil, err
		}
		eu.GID = gid
	} else if pw != nil {
		for _, g := range groups {
			if slices.Contains(g.Members, pw.Name) {
				eu.Groups = append(eu.Groups, g.GID)
			}
		}
	}
	for _, a := range additional {
		gid, err := resolveGroup(a, groups)
		if err != nil {
			return nil, err
		}
		eu.Groups = append(eu.Groups, gid)
	}
	eu.Groups = slices.DeleteFunc(eu.Groups, func(g uint32) bool { return g == eu.GID })
	slices.Sort(eu.Groups)
	eu.Groups = slices.Compact(eu.Groups)
	return eu, nil
}

func resolveUser(s string, users []User) (*ExecUser, *User, error) {
	if uid, err := parseID(s); err == nil {
		for i := range users {
			if users[i].UID == uid {
				u := &users[i]
				return &ExecUser{UID: uid, GID: u.GID, Home: home(u.Home)}, u, nil
			}
		}
		return &ExecUser{UID: uid, GID: 0, Home: "/"}, nil, nil
	}
	for i := range users {
		if users[i].Name == s {
			u := &users[i]
			return &ExecUser{UID: u.UID, GID: u.GID, Home: home(u.Home)}, u, nil
		}
	}
	return nil, nil, fmt.Errorf("user %q: %w", s, ErrUnknownUser)
}

func resolveGroup(s string, groups []Group) (uint32, error) {
	if gid, err := parseID(s); err == nil {
		return gid, nil
	}
	for _, g := range groups {
		if g.Name == s {
			return g.GID, nil
		}
	}
	return 0, fmt.Errorf("group %q: %w", s, ErrUnknownUser)
}

func home(h string) string {
	if h == "" {
		return "/"
	}
	return h
}
