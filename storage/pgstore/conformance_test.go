package pgstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chatboxsdk/chatbox/storage/pgstore"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

// TestConformance runs the whole suite, with the 10,000-conversation
// listing paged through every sort in both directions: PostgreSQL serves
// each page from an index, so this is where the large listing runs in
// full (the MongoDB test server runs a smaller one).
func TestConformance(t *testing.T) {
	requireURL(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t) }, storagetest.LargeListingEveryDirection())
}

// TestUsageConformance runs the usage suite with its 100,000-row listing.
// Its concurrency subtests reach each schema through a second Store on a
// pool of its own, as a second process would.
func TestUsageConformance(t *testing.T) {
	url := requireURL(t)
	var (
		mu      sync.Mutex
		schemas = map[storage.UsageStore]string{}
	)
	storagetest.RunUsage(t, func(t *testing.T) storage.UsageStore {
		st, schema := newStoreSchema(t)
		mu.Lock()
		defer mu.Unlock()
		schemas[st] = schema
		return st
	}, storagetest.SecondInstance(func(t *testing.T, st storage.UsageStore) storage.UsageStore {
		mu.Lock()
		schema := schemas[st]
		mu.Unlock()
		p, err := pgxpool.New(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		other, err := pgstore.New(t.Context(), p, pgstore.WithSchema(schema))
		if err != nil {
			t.Fatalf("second pgstore.New on schema %s: %v", schema, err)
		}
		return other
	}))
}
