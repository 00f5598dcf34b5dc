package mongostore_test

import (
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

func TestConformance(t *testing.T) {
	requireURI(t)
	storagetest.Run(t, func(t *testing.T) storage.Store {
		st, _ := newStore(t)
		return st
	})
}
