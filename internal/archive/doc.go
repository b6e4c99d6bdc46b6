// Package archive reads and writes the tar files that images travel in
// (oci-archive, docker-archive): a [Reader] indexes an archive once and
// then opens its members at random, following the symbolic and hard
// links between members that docker-archive uses; a [Writer] writes
// members with fixed metadata (owner 0:0, a fixed modification time,
// read-only modes), creating each parent directory once, so that the same
// content always gives the same archive.
//
// Member names are cleaned and relative ("./a/../b" is "b"); names that
// climb out of the archive ("../x") are rejected. Nothing is extracted to
// disk.
package archive
