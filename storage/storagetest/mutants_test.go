package storagetest_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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
		"TakeoverStealsHeldConversation": {"ChangeMode/RacingTakeoversHaveOneWinner",
			func() storage.Store { return stealTakeover{memory.New()} }},
		"RetriedChangeIsConflict": {"ChangeMode/RetryIsAcceptedAndChangesNothing",
			func() storage.Store { return retryConflicts{memory.New()} }},
		"ModeReadAsEmpty": {"ChangeMode/NewConversationIsInAIModeWithZeroStats",
			func() storage.Store { return emptyMode{memory.New()} }},
		"RepeatedCompletionCountsAgain": {"Stats/UsageAndResponseTimes",
			func() storage.Store { return recomplete{memory.New()} }},
		"TotalIgnored": {"ConversationQuery/EveryFilterAlone",
			func() storage.Store { return noTotal{memory.New()} }},
		"AIFilterMissesEmptyMode": {"ConversationQuery/EveryFilterAlone",
			func() storage.Store { return aiFilterMissesEmpty{memory.New()} }},
		"RetryReportsAChange": {"ChangeMode/RetryIsAcceptedAndChangesNothing",
			func() storage.Store { return retryReportsChange{memory.New()} }},
		"AuditAppendNotIdempotent": {"Audit/AppendIsIdempotentByID",
			func() storage.Store { return &auditDuplicates{Store: memory.New(), seen: map[string]bool{}} }},
		"AggregateBeforeInclusive": {"Aggregate/FiguresOfARange",
			func() storage.Store { return beforeInclusive{memory.New()} }},
		"PartsShared": {"PartCopies/PartsPassedInAreCopied",
			func() storage.Store { return &shareParts{Store: memory.New(), parts: map[[2]string][]storage.Part{}} }},
		"UpdateKeepsParts": {"Parts/UpdateReplacesAndClearsParts",
			func() storage.Store { return keepParts{memory.New()} }},
		"PartsSortedByKind": {"Parts/RoundTripKeepsEveryFieldInOrder",
			func() storage.Store { return sortParts{memory.New()} }},
		"NewUsageFieldsDropped": {"Parts/UsageKeepsEveryField",
			func() storage.Store { return dropNewUsage{memory.New()} }},
		"EndWhileAwaitingApprovalNotCounted": {"Stats/AwaitingApprovalCountsOneResponse",
			func() storage.Store { return awaitingNotCounted{memory.New()} }},
	}
}

// stealTakeover lets an operator take over a conversation another holds,
// by releasing it in the holder's name first.
type stealTakeover struct{ storage.Store }

func (s stealTakeover) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	got, changed, err := s.Store.ChangeMode(ctx, c)
	if errors.Is(err, storage.ErrConflict) && c.To == storage.ModeOperator && got.Mode == storage.ModeOperator {
		release := storage.ModeChange{ConversationID: c.ConversationID, From: []storage.Mode{storage.ModeOperator},
			To: storage.ModeAI, Operator: got.Operator, At: c.At}
		if _, _, err := s.Store.ChangeMode(ctx, release); err != nil {
			return got, false, err
		}
		c.From = append(c.From, storage.ModeAI)
		return s.Store.ChangeMode(ctx, c)
	}
	return got, changed, err
}

// retryConflicts refuses a change to the mode and holder already stored.
type retryConflicts struct{ storage.Store }

func (s retryConflicts) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	cur, err := s.GetConversation(ctx, c.ConversationID)
	if err == nil && cur.Mode == c.To.Normalize() && (c.To != storage.ModeOperator || cur.Operator == c.Operator) {
		return cur, false, storage.ErrConflict
	}
	return s.Store.ChangeMode(ctx, c)
}

// retryReportsChange reports a change the mode and holder already stored
// as a new one, so its caller would announce it twice.
type retryReportsChange struct{ storage.Store }

func (s retryReportsChange) ChangeMode(ctx context.Context, c storage.ModeChange) (storage.Conversation, bool, error) {
	got, _, err := s.Store.ChangeMode(ctx, c)
	return got, err == nil, err
}

// emptyMode reads ModeAI back as the empty mode.
type emptyMode struct{ storage.Store }

func (s emptyMode) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	c, err := s.Store.GetConversation(ctx, id)
	if c.Mode == storage.ModeAI {
		c.Mode = ""
	}
	return c, err
}

// recomplete takes a message back to streaming before every update, so a
// repeated completion counts as a new response.
type recomplete struct{ storage.Store }

func (s recomplete) UpdateMessage(ctx context.Context, m storage.Message) error {
	if old, err := s.GetMessage(ctx, m.ConversationID, m.ID); err == nil {
		old.Status = storage.MessageStreaming
		if err := s.Store.UpdateMessage(ctx, old); err != nil {
			return err
		}
	}
	return s.Store.UpdateMessage(ctx, m)
}

// noTotal never counts.
type noTotal struct{ storage.Store }

func (s noTotal) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	page, err := s.Store.ListConversations(ctx, q)
	page.Total = -1
	return page, err
}

// aiFilterMissesEmpty matches only the conversations whose mode was set to
// ModeAI by a change, as a backend comparing the stored mode with "ai"
// would.
type aiFilterMissesEmpty struct{ storage.Store }

func (s aiFilterMissesEmpty) ListConversations(ctx context.Context, q storage.ConversationQuery) (storage.ConversationPage, error) {
	page, err := s.Store.ListConversations(ctx, q)
	if q.Mode == storage.ModeAI {
		kept := page.Conversations[:0]
		for _, c := range page.Conversations {
			if !c.ModeChangedAt.IsZero() {
				kept = append(kept, c)
			}
		}
		page.Conversations = kept
	}
	return page, err
}

// auditDuplicates stores a second append of an id as a new entry.
type auditDuplicates struct {
	storage.Store
	mu   sync.Mutex
	seen map[string]bool
}

func (s *auditDuplicates) AppendAudit(ctx context.Context, e storage.AuditEntry) error {
	s.mu.Lock()
	again := s.seen[e.ID]
	s.seen[e.ID] = true
	s.mu.Unlock()
	if again {
		e.ID += "#again"
	}
	return s.Store.AppendAudit(ctx, e)
}

// beforeInclusive counts records at Before, closing the range on the right.
type beforeInclusive struct{ storage.Store }

func (s beforeInclusive) Aggregate(ctx context.Context, q storage.AggregateQuery) (storage.Aggregate, error) {
	if !q.Before.IsZero() {
		q.Before = q.Before.Add(time.Millisecond)
	}
	return s.Store.Aggregate(ctx, q)
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

// shareParts hands back the very slice of parts it was given on append.
type shareParts struct {
	storage.Store
	mu    sync.Mutex
	parts map[[2]string][]storage.Part
}

func (s *shareParts) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	stored, created, err := s.Store.AppendMessage(ctx, m)
	if created {
		s.mu.Lock()
		s.parts[[2]string{m.ConversationID, m.ID}] = m.Parts
		s.mu.Unlock()
	}
	return stored, created, err
}

func (s *shareParts) GetMessage(ctx context.Context, conversationID, id string) (storage.Message, error) {
	m, err := s.Store.GetMessage(ctx, conversationID, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if parts, ok := s.parts[[2]string{conversationID, id}]; ok && err == nil {
		m.Parts = parts
	}
	return m, err
}

// keepParts treats an update without parts as leaving them alone.
type keepParts struct{ storage.Store }

func (s keepParts) UpdateMessage(ctx context.Context, m storage.Message) error {
	if old, err := s.GetMessage(ctx, m.ConversationID, m.ID); err == nil && len(m.Parts) == 0 {
		m.Parts = old.Parts
	}
	return s.Store.UpdateMessage(ctx, m)
}

// sortParts stores parts grouped by kind, as a store keeping one list per
// kind would read them back.
type sortParts struct{ storage.Store }

func (s sortParts) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	m.Parts = slices.Clone(m.Parts)
	slices.SortStableFunc(m.Parts, func(a, b storage.Part) int { return strings.Compare(string(a.Kind), string(b.Kind)) })
	return s.Store.AppendMessage(ctx, m)
}

// dropNewUsage stores only the input and output tokens of a message.
type dropNewUsage struct{ storage.Store }

func (s dropNewUsage) AppendMessage(ctx context.Context, m storage.Message) (storage.Message, bool, error) {
	m.Usage = storage.Usage{InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens}
	return s.Store.AppendMessage(ctx, m)
}

// awaitingNotCounted counts a response only from streaming to complete,
// as a store that knew no other unfinished status would: it completes a
// reply awaiting approval without a time first, which counts nothing.
type awaitingNotCounted struct{ storage.Store }

func (s awaitingNotCounted) UpdateMessage(ctx context.Context, m storage.Message) error {
	if old, err := s.GetMessage(ctx, m.ConversationID, m.ID); err == nil &&
		old.Status == storage.MessageAwaitingApproval && m.Status == storage.MessageComplete {
		silent := m
		silent.UpdatedAt = time.Time{}
		if err := s.Store.UpdateMessage(ctx, silent); err != nil {
			return err
		}
	}
	return s.Store.UpdateMessage(ctx, m)
}
