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
//   - Message listings order by (CreatedAt, ID); ties on CreatedAt are
//     broken by ID in byte order (Go's < on strings). The suite's ids are
//     ASCII.
//   - Conversation listings order by their Sort key (CreatedAt, UpdatedAt,
//     Stats.MessageCount, or Stats.Usage.InputTokens+OutputTokens), largest
//     first unless Ascending, ties broken by ID in the same direction. The
//     filters combine with AND; CreatedFrom is inclusive, CreatedBefore
//     exclusive, and a range with CreatedFrom after CreatedBefore matches
//     nothing. An unknown Sort or Mode gives storage.ErrInvalid. Total is
//     the number of matches on every page (whatever the cursor) when
//     WithTotal is set, and -1 when it is not.
//   - A cursor continues only the listing that issued it: a conversation
//     cursor used with another Sort or direction gives storage.ErrInvalid.
//     While keys change (UpdatedAt, counts), a conversation whose key did
//     not change is still listed exactly once.
//   - The audit log lists newest first by (At, ID), ties broken by ID
//     descending; From is inclusive, Before exclusive.
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
//   - Values are copies: mutating a Metadata map or a slice of Parts after
//     passing it in, or any value returned, does not change what the store
//     holds. A nil and an empty Metadata map are equivalent, and so are a
//     nil and an empty slice of Parts.
//   - Parts: a message's parts come back from AppendMessage (a retry
//     included), GetMessage and ListMessages in the order they were
//     written, every field as written (ApprovalExpiresAt to the
//     millisecond), text of any script byte for byte. UpdateMessage
//     replaces them whole: fewer, more, reordered or none. The suite
//     writes up to 200 parts to a message.
//   - Modes: a new conversation reads as storage.ModeAI (never ""), held by
//     nobody, with zero ModeChangedAt and zero Stats, whatever
//     CreateConversation was given. An empty mode in From stands for ModeAI.
//     ChangeMode returns the conversation as stored, and its fields other
//     than Mode, Operator and ModeChangedAt are untouched (UpdatedAt
//     included). Validation comes first: an invalid change of an unknown
//     or ended conversation is storage.ErrInvalid.
//   - Stats, as GetConversation and ListConversations return them, are
//     exact, under concurrency too: MessageCount counts created messages
//     (not retries, conflicts or rejected appends); Usage sums the usage
//     each message was appended with, every field of storage.Usage, moved
//     by the difference each UpdateMessage makes (a repeated update adds
//     nothing); a response is counted when an UpdateMessage takes a message
//     from an unfinished status (storage.MessageStreaming or
//     storage.MessageAwaitingApproval) to storage.MessageComplete, and its
//     time is that update's UpdatedAt minus the message's CreatedAt: a reply
//     that pauses for approval and resumes, any number of times, counts
//     once when it completes. Response times are whole milliseconds in the
//     suite.
//   - Aggregate counts, in [From, Before): conversations by CreatedAt;
//     messages (every role), their usage and their responses by the
//     message's CreatedAt, whatever the conversation's; help requests by
//     At. A response completed after Before still counts if its message was
//     created in the range. The percentiles use storage.PercentileRank on
//     the ascending response times.
//   - Audit entries and mode changes follow the context rule below too.
//   - Concurrent writers are safe and idempotency holds under races: of
//     many concurrent appends of one id exactly one reports created, and of
//     many concurrent creates of one conversation id by different users
//     exactly one succeeds; of many concurrent takeovers of one
//     conversation by different operators exactly one wins, and the others
//     get storage.ErrConflict with the winner as holder.
//
// The subtest TenThousandConversations pages 10,000 conversations through
// every sort (see LargeListing and LargeListingEveryDirection); a backend
// whose writes cost milliseconds spends most of its time there.
package storagetest

import (
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
)

// RunOption adjusts Run.
type RunOption func(*suite)

// LargeListing sets how many conversations the TenThousandConversations
// subtest pages through (default DefaultLargeListing). A backend run over a
// test server that sorts without indexes may use fewer (its listing logic
// is the same at any size); the backends whose test servers use their
// indexes should keep the default, so the full size runs somewhere.
func LargeListing(n int) RunOption {
	return func(s *suite) { s.largeListing = n }
}

// PagedMessages sets how many messages ListMessages' paging subtest walks
// through at every page size, one page size being 1 (default
// DefaultPagedMessages). Like LargeListing, a run over a test server that
// sorts without indexes may use fewer: the boundaries checked (a page of
// one, a third, half, all but one, all) scale with it.
func PagedMessages(n int) RunOption {
	return func(s *suite) { s.pagedMessages = n }
}

// DefaultPagedMessages is PagedMessages' default.
const DefaultPagedMessages = 1000

// LargeListingEveryDirection makes the TenThousandConversations subtest
// page through every sort in both directions instead of one direction per
// sort (both are always checked on a small data set). It doubles the
// subtest's listings, so it suits a fast backend.
func LargeListingEveryDirection() RunOption {
	return func(s *suite) { s.largeBothWays = true }
}

// Run runs the conformance suite as subtests of t, calling newStore for a
// fresh, empty store in each subtest that needs one.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store, opts ...RunOption) {
	t.Helper()
	if newStore == nil {
		t.Fatal("storagetest.Run: newStore is nil")
	}
	s := suite{newStore: newStore, largeListing: DefaultLargeListing, pagedMessages: DefaultPagedMessages}
	for _, o := range opts {
		o(&s)
	}
	if s.largeListing < 1 {
		t.Fatalf("storagetest.Run: LargeListing(%d) must be positive", s.largeListing)
	}
	if s.pagedMessages < 10 {
		t.Fatalf("storagetest.Run: PagedMessages(%d) must be at least 10", s.pagedMessages)
	}
	t.Run("CreateConversation", s.testCreateConversation)
	t.Run("EndConversation", s.testEndConversation)
	t.Run("ListConversations", s.testListConversations)
	t.Run("AppendMessage", s.testAppendMessage)
	t.Run("UpdateMessage", s.testUpdateMessage)
	t.Run("GetMessage", s.testGetMessage)
	t.Run("ListMessages", s.testListMessages)
	t.Run("Parts", s.testParts)
	t.Run("ChangeMode", s.testChangeMode)
	t.Run("Stats", s.testStats)
	t.Run("ConversationQuery", s.testConversationQuery)
	t.Run("TenThousandConversations", s.testLargeListing)
	t.Run("Audit", s.testAudit)
	t.Run("Aggregate", s.testAggregate)
	t.Run("Concurrency", s.testConcurrency)
	t.Run("Context", s.testContext)
	t.Run("Copies", s.testCopies)
	t.Run("PartCopies", s.testPartCopies)
}

type suite struct {
	newStore      func(t *testing.T) storage.Store
	largeListing  int
	largeBothWays bool
	pagedMessages int
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
