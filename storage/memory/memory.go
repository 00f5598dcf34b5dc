// Package memory is the default storage.Store: every conversation and
// message lives in the process's memory.
//
// It is meant for tests, demos and single-process deployments that do not
// need their history to survive a restart. Unlike the caches elsewhere in
// chatbox, this store is not bounded by configuration and never evicts: it
// is the data store, so it holds exactly what the host asked it to store,
// for as long as the Store lives. Hosts that keep long histories should use
// a persistent backend such as storage/mongostore.
//
// The Store passes the storage/storagetest conformance suite. Beyond the
// contract it fills two defaults on create: an empty Conversation.Status is
// stored as storage.StatusActive and a zero UpdatedAt as CreatedAt. Times
// are stored at full precision. A ListMessages query with an Order other
// than storage.Ascending or storage.Descending gives storage.ErrInvalid, as
// does a cursor from another kind of listing or another order.
package memory

import (
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
}

// conversation is the stored state of one conversation.
type conversation struct {
	c storage.Conversation // Metadata is owned by the Store
	// msgs is sorted by (CreatedAt, ID) ascending; byID indexes it.
	msgs []*storage.Message
	byID map[string]*storage.Message
}

var _ storage.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		convs:  make(map[string]*conversation),
		byUser: make(map[string][]*conversation),
	}
}

// key is the listing position of a record.
type key struct {
	at time.Time
	id string
}

func compareKeys(a, b key) int {
	if c := a.at.Compare(b.at); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func convKey(c *conversation) key { return key{c.c.CreatedAt, c.c.ID} }

// CreateConversation stores c. ID, UserID and CreatedAt are required
// (storage.ErrInvalid). An existing id owned by the same user is a no-op
// returning nil; owned by another user it gives storage.ErrConflict.
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
	entry := &conversation{c: c, byID: make(map[string]*storage.Message)}

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
	i, _ := slices.BinarySearchFunc(list, k, func(c *conversation, k key) int {
		return compareKeys(convKey(c), k)
	})
	return slices.Insert(list, i, e)
}

// GetConversation returns a copy of the conversation or storage.ErrNotFound.
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

// ListConversations returns conversations newest first by (CreatedAt, ID),
// filtered by q.UserID and q.Status when they are set. A malformed cursor
// gives storage.ErrInvalid.
func (s *Store) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	if err := ctx.Err(); err != nil {
		return storage.ConversationPage{}, err
	}
	limit := storage.ClampLimit(q.Limit)
	var after *key
	if q.Cursor != "" {
		k, err := decodeCursor(q.Cursor, kindConversations, storage.Descending)
		if err != nil {
			return storage.ConversationPage{}, fmt.Errorf("memory: list conversations: %w", err)
		}
		after = &k
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	list := s.all
	if q.UserID != "" {
		list = s.byUser[q.UserID]
	}
	// Walk backwards from the newest entry older than the cursor.
	end := len(list)
	if after != nil {
		end, _ = slices.BinarySearchFunc(list, *after, func(c *conversation, k key) int {
			return compareKeys(convKey(c), k)
		})
	}
	var page storage.ConversationPage
	for i := end - 1; i >= 0; i-- {
		e := list[i]
		if q.Status != "" && e.c.Status != q.Status {
			continue
		}
		if len(page.Conversations) == limit {
			last := page.Conversations[limit-1]
			page.NextCursor = encodeCursor(kindConversations, storage.Descending, key{last.CreatedAt, last.ID})
			break
		}
		page.Conversations = append(page.Conversations, copyConversation(e.c))
	}
	return page, nil
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
func cmpMessage(a *storage.Message, k key) int {
	return compareKeys(key{a.CreatedAt, a.ID}, k)
}
