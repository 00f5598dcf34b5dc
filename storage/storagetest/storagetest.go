// Package storagetest is the conformance suite of storage.Store: the
// executable form of the contract written in package storage. Every backend
// runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s := mybackend.Open(...) // empty, used by this test only
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run calls newStore once for every subtest that needs a store, and each
// call must return an empty store that no other subtest sees. Subtests run
// one after another (none calls t.Parallel), so a backend may share one
// database server and hand out a fresh database or table per call. A
// wrapper such as an encrypting Store runs the suite over a wrapped memory
// store.
//
// Besides the doc comments of package storage, the suite holds every Store
// to these rules, which spell out what the contract leaves implicit:
//
//   - Times: a store may truncate times to whole milliseconds, so the suite
//     writes whole-millisecond UTC times only and compares times with
//     time.Time.Equal after truncating both to the millisecond. Time zones
//     are not compared.
//   - Listings order by (CreatedAt, ID); ties on CreatedAt are broken by ID in
//     byte order (Go's < on strings). The suite's ids are ASCII.
//   - Pages are full: every page but the last holds exactly
//     storage.ClampLimit(Limit) records, NextCursor is set whenever more
//     records follow, and it is empty on the last page, even a full one.
//   - Cursors are positions, not offsets: records added after a page was
//     served are never repeated by later pages, and those that sort after
//     the cursor appear on them.
//   - A malformed cursor gives storage.ErrInvalid.
//   - ListMessages on an unknown conversation gives storage.ErrNotFound, not
//     an empty page; an empty ConversationID gives storage.ErrInvalid. A
//     conversation without messages lists as an empty page.
//   - GetConversation and GetMessage of an empty or unknown id give
//     storage.ErrNotFound.
//   - A record rejected with an error is not stored.
//   - CreateConversation stores the given fields as they are; a retried
//     create changes nothing, even if its other fields differ.
//   - EndConversation keeps the first end time when called again.
//   - AppendMessage moves the conversation's UpdatedAt forward only: a
//     message older than the current UpdatedAt leaves it unchanged, and a
//     retried append (created == false) never moves it.
//   - UpdateMessage replaces the mutable fields, including with empty
//     values, and leaves every other field as stored; with an empty id it
//     gives storage.ErrInvalid or storage.ErrNotFound.
//   - A context that is already cancelled or past its deadline makes every
//     method return an error satisfying errors.Is(err, ctx.Err()).
//   - Values are copies: mutating a Metadata map after passing it in, or any
//     value returned, does not change what the store holds. A nil and an
//     empty Metadata map are equivalent.
//   - Concurrent writers are safe and idempotency holds under races: of
//     many concurrent appends of one id exactly one reports created, and of
//     many concurrent creates of one conversation id by different users
//     exactly one succeeds.
package storagetest

import (
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
)

// Run runs the conformance suite as subtests of t, calling newStore for a
// fresh, empty store in each subtest that needs one.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest.Run: newStore is nil")
	}
	s := suite{newStore: newStore}
	t.Run("CreateConversation", s.testCreateConversation)
	t.Run("EndConversation", s.testEndConversation)
	t.Run("ListConversations", s.testListConversations)
	t.Run("AppendMessage", s.testAppendMessage)
	t.Run("UpdateMessage", s.testUpdateMessage)
	t.Run("GetMessage", s.testGetMessage)
	t.Run("ListMessages", s.testListMessages)
	t.Run("Concurrency", s.testConcurrency)
	t.Run("Context", s.testContext)
	t.Run("Copies", s.testCopies)
}

type suite struct {
	newStore func(t *testing.T) storage.Store
}

// store returns a fresh store for t.
func (s suite) store(t *testing.T) storage.Store {
	t.Helper()
	st := s.newStore(t)
	if st == nil {
		t.Fatal("newStore returned nil")
	}
	return st
}
