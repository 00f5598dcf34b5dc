package storagetest_test

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

// A mutant is a Store with one deliberate contract violation, and the
// subtest of the suite that must catch it.
type mutant struct {
	catchBy string
	new     func() storage.Store
}

func mutants() map[string]mutant {
	return map[string]mutant{
		"Correct": {"", func() storage.Store { return memory.New() }},
		"RetriedAppendReportsCreated": {"AppendMessage/RetryReturnsStoredMessageAndChangesNothing",
			func() storage.Store { return alwaysCreated{memory.New()} }},
		"RoleConflictSwallowed": {"AppendMessage/SameIDWithAnotherRoleIsConflict",
			func() storage.Store { return swallowConflict{memory.New()} }},
		"UserFilterIgnored": {"ListConversations/UserFilterListsOnlyThatOwner",
			func() storage.Store { return ignoreUser{memory.New()} }},
		"DescendingIgnored": {"ListMessages/OrderedByCreatedAtWithTiesBrokenByID",
			func() storage.Store { return ignoreOrder{memory.New()} }},
		"UnknownConversationListsEmpty": {"ListMessages/UnknownConversationIsNotFound",
			func() storage.Store { return emptyForUnknown{memory.New()} }},
		"UpdateMergesEmptyFields": {"UpdateMessage/ReplacesOnlyMutableFields",
			func() storage.Store { return mergeUpdate{memory.New()} }},
		"ListIgnoresContext": {"Context/CancelledContextFailsEveryMethod",
			func() storage.Store { return ignoreCtx{memory.New()} }},
		"MetadataShared": {"Copies/MetadataPassedInIsCopied",
			func() storage.Store { return &shareMetadata{Store: memory.New(), md: map[string]map[string]string{}} }},
		"CursorOnFullLastPage": {"ListMessages/PaginationWithoutGapsOrDuplicates",
			func() storage.Store { return cursorAtEnd{memory.New()} }},
		"OffsetCursor": {"ListMessages/CursorSurvivesNewMessages",
			func() storage.Store { return offsetCursor{memory.New()} }},
	}
}

type alwaysCreated struct{ storage.Store }

func (s alwaysCreated) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	stored, _, err := s.Store.AppendMessage(ctx, m)
	return stored, err == nil, err
}

type swallowConflict struct{ storage.Store }

func (s swallowConflict) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	stored, created, err := s.Store.AppendMessage(ctx, m)
	if errors.Is(err, storage.ErrConflict) {
		stored, err = s.GetMessage(ctx, m.ConversationID, m.ID)
		return stored, false, err
	}
	return stored, created, err
}

type ignoreUser struct{ storage.Store }

func (s ignoreUser) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	q.UserID = ""
	return s.Store.ListConversations(ctx, q)
}

type ignoreOrder struct{ storage.Store }

func (s ignoreOrder) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	q.Order = storage.Ascending
	return s.Store.ListMessages(ctx, q)
}

type emptyForUnknown struct{ storage.Store }

func (s emptyForUnknown) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	page, err := s.Store.ListMessages(ctx, q)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.MessagePage{}, nil
	}
	return page, err
}

type mergeUpdate struct{ storage.Store }

func (s mergeUpdate) UpdateMessage(ctx context.Context, m storage.Message) error {
	if old, err := s.GetMessage(ctx, m.ConversationID, m.ID); err == nil && m.Text == "" {
		m.Text = old.Text
	}
	return s.Store.UpdateMessage(ctx, m)
}

type ignoreCtx struct{ storage.Store }

func (s ignoreCtx) ListMessages(_ context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	return s.Store.ListMessages(context.Background(), q)
}

// shareMetadata hands back the very map it was given on create.
type shareMetadata struct {
	storage.Store
	mu sync.Mutex
	md map[string]map[string]string
}

func (s *shareMetadata) CreateConversation(ctx context.Context, c storage.Conversation) error {
	err := s.Store.CreateConversation(ctx, c)
	if err == nil {
		s.mu.Lock()
		if _, ok := s.md[c.ID]; !ok {
			s.md[c.ID] = c.Metadata
		}
		s.mu.Unlock()
	}
	return err
}

func (s *shareMetadata) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	c, err := s.Store.GetConversation(ctx, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if md, ok := s.md[id]; ok && err == nil {
		c.Metadata = md
	}
	return c, err
}

// cursorAtEnd returns a cursor after a full last page, which then lists an
// empty page.
type cursorAtEnd struct{ storage.Store }

const endCursor = "end"

func (s cursorAtEnd) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	if q.Cursor == endCursor {
		return storage.MessagePage{}, nil
	}
	page, err := s.Store.ListMessages(ctx, q)
	if err == nil && page.NextCursor == "" && len(page.Messages) == storage.ClampLimit(q.Limit) {
		page.NextCursor = endCursor
	}
	return page, err
}

// offsetCursor pages by position in the listing, so records added before
// the cursor shift later pages.
type offsetCursor struct{ storage.Store }

func (s offsetCursor) ListMessages(ctx context.Context, q storage.MessageQuery) (storage.MessagePage, error) {
	offset := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return storage.MessagePage{}, storage.ErrInvalid
		}
		offset = n
	}
	var all []storage.Message
	inner := storage.MessageQuery{ConversationID: q.ConversationID, Order: q.Order, Limit: storage.MaxPageSize}
	for {
		page, err := s.Store.ListMessages(ctx, inner)
		if err != nil {
			return storage.MessagePage{}, err
		}
		all = append(all, page.Messages...)
		if page.NextCursor == "" {
			break
		}
		inner.Cursor = page.NextCursor
	}
	all = all[min(offset, len(all)):]
	limit := storage.ClampLimit(q.Limit)
	out := storage.MessagePage{Messages: all[:min(limit, len(all))]}
	if len(all) > limit {
		out.NextCursor = strconv.Itoa(offset + limit)
	}
	return out, nil
}
