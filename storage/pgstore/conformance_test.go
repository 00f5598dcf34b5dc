package pgstore_test

import (
	"testing"

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
