package mongostore_test

import (
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/mongostore"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// TestBlobConformance runs the blob suite with a listing of 300 blobs
// rather than 1,000, and with its bounded-memory check. The test server
// (FerretDB on SQLite) reads the whole blob collection for every
// conditional update (each put ends with one) and every page, so the
// full listing costs over a minute here; the full size runs in the
// suites of pgstore, fsblob and memory. The 50 MiB blob takes about 25s
// on FerretDB, where a chunk's lookup by _id costs more the more chunks
// the collection holds (about 100ms each with this blob's 200, against
// 30ms with 50); MongoDB serves it from the _id index.
func TestBlobConformance(t *testing.T) {
	requireURI(t)
	storagetest.RunBlobs(t, func(t *testing.T) storage.BlobStore {
		st, _ := newStore(t, mongostore.WithOperationTimeout(time.Minute))
		return st
	}, storagetest.ManyBlobs(300), storagetest.BoundedMemory())
}
