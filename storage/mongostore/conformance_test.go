package mongostore_test

import (
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/mongostore"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// TestConformance runs the suite with a listing of 1,000 conversations
// rather than 10,000, and pages 120 messages at every page size rather than
// 1,000. The test server (FerretDB on SQLite) reads and sorts
// the whole collection for every page, so the full listing cost minutes of
// every test run here while proving nothing a smaller one does not: the
// store's paging is the same statement at any size. The full sizes (10,000
// conversations in every sort and direction, 1,000 messages) run in
// pgstore's suite, whose test server pages from indexes as MongoDB does.
func TestConformance(t *testing.T) {
	requireURI(t)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		// The test server sorts without indexes, slowly under the race
		// detector (milliseconds on MongoDB), so attempts get more time.
		st, _ := newStore(t, mongostore.WithOperationTimeout(time.Minute))
		return st
	}, storagetest.LargeListing(1_000), storagetest.PagedMessages(120))
}
