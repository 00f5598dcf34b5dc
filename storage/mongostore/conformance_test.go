package mongostore_test

import (
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/mongostore"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

func TestConformance(t *testing.T) {
	requireURI(t)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		// The test server sorts without indexes: a page of 10,000
		// conversations takes seconds there under the race detector
		// (milliseconds on MongoDB), so attempts get more time.
		st, _ := newStore(t, mongostore.WithOperationTimeout(time.Minute))
		return st
	})
}
