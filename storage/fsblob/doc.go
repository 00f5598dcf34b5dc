// Package fsblob is a storage.BlobStore on a directory of the local file
// system: the reference implementation of the blob contract for hosts
// that keep attachments on disk.
//
// # Layout
//
// New claims a directory, empty or already holding a store, by writing
// the file "chatbox-fsblob" in it (a directory holding other files is
// refused, so a mistyped path never gets blobs mixed into it). Below it
// every conversation has a directory named by a hash of its id, and
// every blob files named by a hash of its conversation's id and its own:
//
//	<dir>/chatbox-fsblob                  the store's marker and version
//	<dir>/<c[:2]>/<c>/                    c = hex SHA-256 of the conversation id
//	<dir>/<c[:2]>/<c>/<b>.json            b = hex SHA-256 of (conversation id, id): the metadata
//	<dir>/<c[:2]>/<c>/<b>.<upload>.data   the bytes of the put the metadata names
//	<dir>/<c[:2]>/<c>/<b>.<upload>.sent   when the blob was first marked sent
//	<dir>/<c[:2]>/<c>/.tmp-*              files being written
//
// No path is built from the ids themselves, so no id can reach outside
// its directory whatever it holds, and file names reveal no id. The
// metadata file is JSON holding the blob's fields and the random upload
// token of the put that wrote it; the bytes and the sent time of a blob
// live in files named after that token, so nothing a failed, deleted or
// earlier put of the same id left behind is ever read as the current
// blob's.
//
// # Writes
//
// Every file is written whole under a temporary name in its final
// directory, synced, then given its name in one atomic step, and the
// directory is synced after:
//
//   - PutBlob streams the bytes into a temporary file (never holding
//     more than one 128 KiB buffer of them), syncs it and renames it to
//     its upload's name, then writes the metadata the same way and
//     publishes it with a hard link, which fails if the name exists:
//     that link is the commit point, and the one of two racing puts of
//     an id that makes it wins; the other gets storage.ErrConflict and
//     removes its files. A put that fails before the link removes what
//     it wrote.
//   - MarkBlobSent publishes the sent file by a hard link too, so the
//     first mark wins and later ones change nothing.
//   - DeleteBlob renames the metadata file away (the blob is gone from
//     that instant), syncs the directory, then removes the upload's files
//     and the conversation's directory if it is left empty.
//
// A reader of a blob is its open data file: a delete, or a delete and a
// new put of the id, while it reads does not change what it reads.
//
// The store keeps no state in memory: every answer comes from the
// directory, and every change is one atomic rename or link. So several
// Stores, in one process or several on one host, may share a directory
// on a local POSIX file system (network file systems are not supported).
//
// # Listings
//
// ListBlobs reads metadata files: those of the conversation's directory
// when the query names a conversation, otherwise those of every
// directory. A page therefore costs one file read per blob of the
// conversation, or of the store, whatever the page size (plus one per
// candidate to learn whether it was sent), and holds no more than the
// page in memory. That suits tests, development and deployments of some
// thousands of blobs; larger ones should keep blobs in storage/pgstore or
// storage/mongostore, whose listings are served by indexes.
//
// # Leftovers
//
// A process that stops in the middle of a put or a delete may leave
// temporary files and files of no current upload behind. They are never
// read; Sweep removes those older than a given time.
//
// Times are stored with nanosecond precision, in UTC.
package fsblob
