package namespaces

// WriteIDMapsUnprivileged is WriteIDMaps as an unprivileged caller without
// newuidmap/newgidmap does it (direct writes, setgroups denied), whoever
// runs the test.
func WriteIDMapsUnprivileged(pid int, uids, gids []IDMap) error {
	return writeIDMaps(pid, uids, gids, idMapEnv{euid: 1000, lookPath: noHelpers})
}
