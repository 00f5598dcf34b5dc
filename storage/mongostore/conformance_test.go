package mongostore_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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

// TestUsageConformance runs the usage suite; its concurrency subtests
// reach each database through a second Store on a client of its own, as
// a second process would. The 100,000-row listing runs only with
// CHATBOX_TEST_LARGE=1: the test server reads and sorts the whole rows
// collection for every page (TestHundredThousandMessagesPageThroughInOrder
// explains the cost), and pgstore's suite and the memory store's run it
// in full.
func TestUsageConformance(t *testing.T) {
	uri := requireURI(t)
	rows := storagetest.UsageRows(0)
	if os.Getenv("CHATBOX_TEST_LARGE") == "1" {
		rows = storagetest.UsageRows(storagetest.DefaultUsageRows)
	}
	var (
		mu  sync.Mutex
		dbs = map[storage.UsageStore]string{}
	)
	storagetest.RunUsage(t, func(t *testing.T) storage.UsageStore {
		st, db := newStore(t, mongostore.WithOperationTimeout(time.Minute))
		mu.Lock()
		defer mu.Unlock()
		dbs[st] = db.Name()
		return st
	}, rows, storagetest.SecondInstance(func(t *testing.T, st storage.UsageStore) storage.UsageStore {
		mu.Lock()
		name := dbs[st]
		mu.Unlock()
		c, err := mongo.Connect(options.Client().ApplyURI(uri).SetTimeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := c.Disconnect(ctx); err != nil {
				t.Errorf("disconnect the second client: %v", err)
			}
		})
		other, err := mongostore.New(t.Context(), c, mongostore.WithDatabase(name), mongostore.WithOperationTimeout(time.Minute))
		if err != nil {
			t.Fatalf("second mongostore.New on %s: %v", name, err)
		}
		return other
	}))
}
