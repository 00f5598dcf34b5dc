package memory_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/memory"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Store { return memory.New() })
}

func TestUsageConformance(t *testing.T) {
	storagetest.RunUsage(t, func(*testing.T) storage.UsageStore { return memory.New() })
}

// TestBlobConformance runs the blob suite without its bounded-memory
// check: this store holds every blob's bytes in memory.
func TestBlobConformance(t *testing.T) {
	storagetest.RunBlobs(t, func(*testing.T) storage.BlobStore { return memory.New() })
}

func TestCreateFillsStatusAndUpdatedAt(t *testing.T) {
	s := memory.New()
	created := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "u", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	c, err := s.GetConversation(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != storage.StatusActive || !c.UpdatedAt.Equal(created) {
		t.Errorf("Status %q, UpdatedAt %v; want %q, %v", c.Status, c.UpdatedAt, storage.StatusActive, created)
	}
	page, err := s.ListConversations(t.Context(), storage.ConversationQuery{Status: storage.StatusActive})
	if err != nil || len(page.Conversations) != 1 {
		t.Errorf("active listing = %d, %v; want the conversation created without a status", len(page.Conversations), err)
	}
}

func TestKeepsFullTimePrecision(t *testing.T) {
	s := memory.New()
	created := time.Date(2030, 1, 1, 0, 0, 0, 123456789, time.UTC)
	if err := s.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "u", CreatedAt: created}); err != nil {
		t.Fatal(err)
	}
	// Two messages one nanosecond apart keep their order.
	for i, id := range []string{"b", "a"} {
		m := storage.Message{ID: id, ConversationID: "c1", Role: storage.RoleUser, CreatedAt: created.Add(time.Duration(i))}
		if _, _, err := s.AppendMessage(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "c1"})
	if err != nil || len(page.Messages) != 2 || page.Messages[0].ID != "b" || !page.Messages[0].CreatedAt.Equal(created) {
		t.Fatalf("ListMessages = %+v, %v; want b (at %v) then a", page.Messages, err, created)
	}
}

// TestCursorOfAnotherListingIsInvalid checks that a cursor is only accepted by
// the kind of listing, and in the order, that issued it.
func TestCursorOfAnotherListingIsInvalid(t *testing.T) {
	s := memory.New()
	ctx := t.Context()
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"c1", "c2", "c3"} {
		if err := s.CreateConversation(ctx, storage.Conversation{ID: id, UserID: "u", CreatedAt: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		m := storage.Message{ID: id, ConversationID: "c1", Role: storage.RoleUser, CreatedAt: base.Add(time.Duration(i) * time.Second)}
		if _, _, err := s.AppendMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	convPage, err := s.ListConversations(ctx, storage.ConversationQuery{Limit: 1})
	if err != nil || convPage.NextCursor == "" {
		t.Fatalf("ListConversations: %v, cursor %q", err, convPage.NextCursor)
	}
	ascPage, err := s.ListMessages(ctx, storage.MessageQuery{ConversationID: "c1", Limit: 1})
	if err != nil || ascPage.NextCursor == "" {
		t.Fatalf("ListMessages: %v, cursor %q", err, ascPage.NextCursor)
	}

	_, err = s.ListMessages(ctx, storage.MessageQuery{ConversationID: "c1", Cursor: convPage.NextCursor})
	if !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("ListMessages with a conversation cursor: %v, want ErrInvalid", err)
	}
	_, err = s.ListConversations(ctx, storage.ConversationQuery{Cursor: ascPage.NextCursor})
	if !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("ListConversations with a message cursor: %v, want ErrInvalid", err)
	}
	_, err = s.ListMessages(ctx, storage.MessageQuery{ConversationID: "c1", Order: storage.Descending, Cursor: ascPage.NextCursor})
	if !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("descending ListMessages with an ascending cursor: %v, want ErrInvalid", err)
	}
	// A truncated cursor is malformed too.
	_, err = s.ListMessages(ctx, storage.MessageQuery{ConversationID: "c1", Cursor: ascPage.NextCursor[:10]})
	if !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("ListMessages with a truncated cursor: %v, want ErrInvalid", err)
	}
}

func TestUnknownOrderIsInvalid(t *testing.T) {
	s := memory.New()
	if err := s.CreateConversation(t.Context(), storage.Conversation{ID: "c1", UserID: "u", CreatedAt: time.Unix(1, 0)}); err != nil {
		t.Fatal(err)
	}
	_, err := s.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "c1", Order: storage.Order(7)})
	if !errors.Is(err, storage.ErrInvalid) {
		t.Errorf("ListMessages with Order 7: %v, want ErrInvalid", err)
	}
}

func TestAuditLogKeepsTheNewestEntries(t *testing.T) {
	s := memory.New()
	ctx := t.Context()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	const extra = 5
	// Appended newest first, so each entry past the cap drops an older one.
	for i := memory.MaxAuditEntries + extra - 1; i >= 0; i-- {
		e := storage.AuditEntry{ID: fmt.Sprintf("e-%05d", i), At: t0.Add(time.Duration(i) * time.Second), Actor: "op",
			Action: storage.AuditHelpRequest}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	q := storage.AuditQuery{Limit: storage.MaxPageSize}
	for {
		page, err := s.ListAudit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Entries {
			ids = append(ids, e.ID)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if len(ids) != memory.MaxAuditEntries || ids[0] != fmt.Sprintf("e-%05d", memory.MaxAuditEntries+extra-1) || ids[len(ids)-1] != fmt.Sprintf("e-%05d", extra) {
		t.Fatalf("audit log holds %d entries from %s to %s; want the newest %d", len(ids), ids[0], ids[len(ids)-1], memory.MaxAuditEntries)
	}
	// An entry older than every kept one is dropped at once.
	if err := s.AppendAudit(ctx, storage.AuditEntry{ID: "e-00000", At: t0, Actor: "op", Action: storage.AuditHelpRequest}); err != nil {
		t.Fatal(err)
	}
	agg, err := s.Aggregate(ctx, storage.AggregateQuery{})
	if err != nil || agg.HelpRequests != memory.MaxAuditEntries {
		t.Errorf("Aggregate: %d help requests, %v; want the %d kept", agg.HelpRequests, err, memory.MaxAuditEntries)
	}
}
