// Package memory is the default storage.Store: every conversation, message
// and audit entry lives in the process's memory.
//
// It is meant for tests, demos and single-process deployments that do not
// need their history to survive a restart. Unlike the caches elsewhere in
// chatbox, this store does not evict conversations or messages: it is the
// data store, so it holds exactly what the host asked it to store, for as
// long as the Store lives. Hosts that keep long histories should use a
// persistent backend such as storage/mongostore. The audit log is the
// exception: it keeps the newest MaxAuditEntries entries by (At, ID) and
// drops older ones, so operator activity alone cannot grow it without
// bound.
//
// The Store is also a storage.UsageStore. Its usage rows and the ids of
// the records counted in them are data like messages, kept for the
// Store's life; its budget reservations are not: they are dropped when
// released or expired (every reservation and release first drops the
// expired ones), so they never number more than the reservations live at
// once. Reservations are checked and added under one lock, which makes
// them atomic within the process the Store serves, the only one it can.
//
// The Store is also a storage.BlobStore that holds every blob's bytes in
// memory (in chunks of 64 KiB), under a lock of its own: a put reads the
// whole blob before storing it, so every blob costs its size in memory
// for as long as it is stored. Fine for tests and demos; a host that
// accepts large files keeps them in storage/fsblob, storage/pgstore or
// storage/mongostore.
//
// The Store passes the storage/storagetest conformance suite. Beyond the
// contract it fills two defaults on create: an empty Conversation.Status is
// stored as storage.StatusActive and a zero UpdatedAt as CreatedAt. Times
// are stored at full precision. A ListMessages query with an Order other
// than storage.Ascending or storage.Descending gives storage.ErrInvalid, as
// do a ConversationQuery with an unknown Sort or Mode and a cursor from
// another kind of listing, sort or order.
//
// Listings and Aggregate work from the store's own indexes where they can
// (conversations ordered by creation, messages by creation within their
// conversation, the audit log by time) and otherwise scan the
// conversations under a read lock: fine for the tens of thousands of
// conversations a single process holds.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// Store is an in-memory storage.Store. The zero value is not usable; call
// New. All methods are safe for concurrent use: reads share a lock, writes
// take it exclusively, and no lock is held while anything outside the Store
// runs. Values are copied in and out, so callers may keep and mutate what
// they pass or receive.
type Store struct {
	mu    sync.RWMutex
	convs map[string]*conversation
	// all indexes every conversation, byUser each owner's, both sorted by
	// (CreatedAt, ID) ascending.
	all    []*conversation
	byUser map[string][]*conversation
	audit  auditLog
	usage  usageState
	blob   blobState
}

// conversation is the stored state of one conversation. c.Stats is kept up
// to date by AppendMessage and UpdateMessage.
type conversation struct {
	c storage.Conversation // Metadata is owned by the Store
	// msgs is sorted by (CreatedAt, ID) ascending; byID indexes it.
	msgs []*message
	byID map[string]*message
}

// message is a stored message and what Aggregate needs to know about it.
type message struct {
	m storage.Message
	// responded is set when an update took the message from streaming
	// (or awaiting approval) to complete; responseTime is then its
	// CreatedAt to that update's UpdatedAt.
	responded    bool
	responseTime time.Duration
}

var _ storage.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		convs:  make(map[string]*conversation),
		byUser: make(map[string][]*conversation),
		audit:  auditLog{byID: make(map[string]struct{})},
		usage:  newUsageState(),
		blob:   newBlobState(),
	}
}

// key is the listing position of a record: a time or a count, then the id
// that breaks ties.
type key struct {
	at time.Time
	n  int64
	id string
}

func compareKeys(a, b key) int {
	return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.n, b.n), strings.Compare(a.id, b.id))
}

func convKey(c *conversation) key { return key{at: c.c.CreatedAt, id: c.c.ID} }

// CreateConversation stores c. ID, UserID and CreatedAt are required
// (storage.ErrInvalid). Mode, Operator, ModeChangedAt and Stats are
// ignored: a new conversation is in storage.ModeAI, held by nobody, with
// zero figures. An existing id owned by the same user is a no-op returning
// nil; owned by another user it gives storage.ErrConflict.
func (s *Store) CreateConversation(ctx context.Context, c storage.Conversation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case c.ID == "":
		return fmt.Errorf("memory: create conversation: empty id: %w", storage.ErrInvalid)
	case c.UserID == "":
		return fmt.Errorf("memory: create conversation %q: empty user id: %w", c.ID, storage.ErrInvalid)
	case c.CreatedAt.IsZero():
		return fmt.Errorf("memory: create conversation %q: zero CreatedAt: %w", c.ID, storage.ErrInvalid)
	}
	c = copyConversation(c)
	c.CreatedAt = c.CreatedAt.Round(0)
	c.UpdatedAt = c.UpdatedAt.Round(0)
	c.EndedAt = c.EndedAt.Round(0)
	if c.Status == "" {
		c.Status = storage.StatusActive
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	c.Mode, c.Operator, c.OperatorName, c.ModeChangedAt = storage.ModeAI, "", "", time.Time{}
	c.Stats = storage.ConversationStats{}
	entry := &conversation{c: c, byID: make(map[string]*message)}

	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.convs[c.ID]; ok {
		if old.c.UserID != c.UserID {
			return fmt.Errorf("memory: create conversation %q: id owned by another user: %w", c.ID, storage.ErrConflict)
		}
		return nil
	}
	s.convs[c.ID] = entry
	s.all = insertSorted(s.all, entry)
	s.byUser[c.UserID] = insertSorted(s.byUser[c.UserID], entry)
	return nil
}

// insertSorted inserts e into list, which is sorted by (CreatedAt, ID).
// Conversations usually arrive newest last, so the common case appends.
func insertSorted(list []*conversation, e *conversation) []*conversation {
	k := convKey(e)
	if n := len(list); n == 0 || compareKeys(convKey(list[n-1]), k) < 0 {
		return append(list, e)
	}
	i, _ := slices.BinarySearchFunc(list, k, cmpConv)
	return slices.Insert(list, i, e)
}

// cmpConv orders conversations by (CreatedAt, ID).
func cmpConv(c *conversation, k key) int { return compareKeys(convKey(c), k) }

// GetConversation returns a copy of the conversation, Stats included, or
// storage.ErrNotFound.
func (s *Store) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	if err := ctx.Err(); err != nil {
		return storage.Conversation{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.convs[id]
	if !ok {
		return storage.Conversation{}, notFoundConversation(id)
	}
	return copyConversation(e.c), nil
}

// EndConversation marks the conversation ended at at. Ending an ended
// conversation changes nothing. Unknown ids give storage.ErrNotFound.
func (s *Store) EndConversation(ctx context.Context, id string, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.convs[id]
	if !ok {
		return notFoundConversation(id)
	}
	if e.c.Status == storage.StatusEnded {
		return nil
	}
	e.c.Status = storage.StatusEnded
	e.c.EndedAt = at.Round(0)
	return nil
}

func notFoundConversation(id string) error {
	return fmt.Errorf("memory: conversation %q: %w", id, storage.ErrNotFound)
}

func copyConversation(c storage.Conversation) storage.Conversation {
	if c.Metadata != nil {
		c.Metadata = maps.Clone(c.Metadata)
	}
	return c
}

// cmpMessage orders messages by (CreatedAt, ID).
func cmpMessage(a *message, k key) int {
	return compareKeys(key{at: a.m.CreatedAt, id: a.m.ID}, k)
}
