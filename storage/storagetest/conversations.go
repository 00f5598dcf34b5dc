package storagetest

import (
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

func (s suite) testCreateConversation(t *testing.T) {
	t.Run("MissingRequiredFieldIsInvalidAndNotStored", func(t *testing.T) {
		st := s.store(t)
		cases := []struct {
			name  string
			clear func(*storage.Conversation)
		}{
			{"ID", func(c *storage.Conversation) { c.ID = "" }},
			{"UserID", func(c *storage.Conversation) { c.UserID = "" }},
			{"CreatedAt", func(c *storage.Conversation) { c.CreatedAt = time.Time{} }},
		}
		for _, tc := range cases {
			c := conv("conv-missing-"+tc.name, "alice", 1)
			tc.clear(&c)
			err := st.CreateConversation(t.Context(), c)
			wantIs(t, err, storage.ErrInvalid, "CreateConversation without "+tc.name)
			if c.ID != "" {
				_, err := st.GetConversation(t.Context(), c.ID)
				wantIs(t, err, storage.ErrNotFound, "GetConversation after a rejected create without "+tc.name)
			}
		}
		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{})
		if err != nil || len(page.Conversations) != 0 {
			t.Errorf("ListConversations after rejected creates = %d conversations, %v; want none", len(page.Conversations), err)
		}
	})

	t.Run("GetReturnsEveryFieldAsCreated", func(t *testing.T) {
		st := s.store(t)
		want := conv("conv-1", "alice", 10)
		want.Metadata = map[string]string{"channel": "web", "locale": "fr-FR", "empty": ""}
		mustCreate(t, st, want)
		checkConv(t, "GetConversation", mustGetConv(t, st, "conv-1"), want)

		minimal := storage.Conversation{ID: "conv-2", UserID: "bob", Status: storage.StatusActive, CreatedAt: at(20), UpdatedAt: at(20)}
		mustCreate(t, st, minimal)
		checkConv(t, "GetConversation of a conversation without optional fields", mustGetConv(t, st, "conv-2"), minimal)
	})

	t.Run("GetUnknownIsNotFound", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		_, err := st.GetConversation(t.Context(), "conv-2")
		wantIs(t, err, storage.ErrNotFound, "GetConversation(unknown)")
		_, err = st.GetConversation(t.Context(), "")
		wantIs(t, err, storage.ErrNotFound, "GetConversation(\"\")")
	})

	t.Run("RetriedCreateBySameUserIsNoOp", func(t *testing.T) {
		st := s.store(t)
		orig := conv("conv-1", "alice", 10)
		mustCreate(t, st, orig)
		mustAppend(t, st, msg("conv-1", "m1", 20))
		wantAfter := orig
		wantAfter.UpdatedAt = at(20)

		retry := orig
		if err := st.CreateConversation(t.Context(), retry); err != nil {
			t.Fatalf("identical retried CreateConversation: %v, want nil", err)
		}
		changed := conv("conv-1", "alice", 30)
		changed.Title = "another title"
		changed.Model = "model-b"
		changed.Metadata = map[string]string{"other": "value"}
		if err := st.CreateConversation(t.Context(), changed); err != nil {
			t.Fatalf("retried CreateConversation with other fields: %v, want nil", err)
		}
		checkConv(t, "GetConversation after retried creates", mustGetConv(t, st, "conv-1"), wantAfter)
		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if got := convIDs(page.Conversations); len(got) != 1 {
			t.Errorf("ListConversations after retried creates = %v, want one conversation", got)
		}
		if mp, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1"}); err != nil || len(mp.Messages) != 1 {
			t.Errorf("ListMessages after retried creates = %d messages, %v; want the 1 message kept", len(mp.Messages), err)
		}
	})

	t.Run("SameIDByAnotherUserIsConflict", func(t *testing.T) {
		st := s.store(t)
		orig := conv("conv-1", "alice", 10)
		mustCreate(t, st, orig)
		err := st.CreateConversation(t.Context(), conv("conv-1", "mallory", 10))
		wantIs(t, err, storage.ErrConflict, "CreateConversation of alice's id by mallory")
		checkConv(t, "GetConversation after the conflict", mustGetConv(t, st, "conv-1"), orig)
		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: "mallory"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Conversations) != 0 {
			t.Errorf("mallory's listing after the conflict = %v, want empty", convIDs(page.Conversations))
		}
	})

	t.Run("StoresAnEndedConversationAsGiven", func(t *testing.T) {
		st := s.store(t)
		c := conv("conv-1", "alice", 10)
		c.Status, c.EndedAt, c.UpdatedAt = storage.StatusEnded, at(15), at(15)
		mustCreate(t, st, c)
		checkConv(t, "GetConversation", mustGetConv(t, st, "conv-1"), c)
	})
}

func (s suite) testEndConversation(t *testing.T) {
	t.Run("SetsStatusAndEndedAt", func(t *testing.T) {
		st := s.store(t)
		c := conv("conv-1", "alice", 10)
		mustCreate(t, st, c, conv("conv-2", "alice", 11))
		if err := st.EndConversation(t.Context(), "conv-1", at(50)); err != nil {
			t.Fatalf("EndConversation: %v", err)
		}
		got := mustGetConv(t, st, "conv-1")
		if got.Status != storage.StatusEnded || !sameTime(got.EndedAt, at(50)) {
			t.Errorf("after EndConversation: Status %q, EndedAt %s; want %q, %s", got.Status, ms(got.EndedAt), storage.StatusEnded, ms(at(50)))
		}
		want := c
		want.Status, want.EndedAt, want.UpdatedAt = got.Status, got.EndedAt, got.UpdatedAt
		checkConv(t, "fields other than Status, EndedAt and UpdatedAt after EndConversation", got, want)
		if other := mustGetConv(t, st, "conv-2"); other.Status != storage.StatusActive || !other.EndedAt.IsZero() {
			t.Errorf("ending conv-1 changed conv-2: Status %q, EndedAt %s", other.Status, ms(other.EndedAt))
		}
	})

	t.Run("EndingTwiceIsNoOp", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 10))
		if err := st.EndConversation(t.Context(), "conv-1", at(50)); err != nil {
			t.Fatalf("first EndConversation: %v", err)
		}
		first := mustGetConv(t, st, "conv-1")
		if err := st.EndConversation(t.Context(), "conv-1", at(90)); err != nil {
			t.Fatalf("second EndConversation: %v, want nil", err)
		}
		checkConv(t, "after a second EndConversation", mustGetConv(t, st, "conv-1"), first)
		if got := mustGetConv(t, st, "conv-1"); !sameTime(got.EndedAt, at(50)) {
			t.Errorf("EndedAt = %s after ending twice, want the first end %s", ms(got.EndedAt), ms(at(50)))
		}
	})

	t.Run("UnknownIsNotFound", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 10))
		wantIs(t, st.EndConversation(t.Context(), "conv-2", at(20)), storage.ErrNotFound, "EndConversation(unknown)")
		_, err := st.GetConversation(t.Context(), "conv-2")
		wantIs(t, err, storage.ErrNotFound, "GetConversation after ending an unknown id")
	})

	t.Run("EndedConversationStaysReadable", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 10))
		m := msg("conv-1", "m1", 20)
		mustAppend(t, st, m)
		if err := st.EndConversation(t.Context(), "conv-1", at(30)); err != nil {
			t.Fatal(err)
		}
		checkMsg(t, "GetMessage of an ended conversation", mustGetMsg(t, st, "conv-1", "m1"), m)
		page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1"})
		if err != nil || len(page.Messages) != 1 {
			t.Errorf("ListMessages of an ended conversation = %d messages, %v; want 1", len(page.Messages), err)
		}
		cp, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: "alice"})
		if err != nil || len(cp.Conversations) != 1 {
			t.Errorf("ListConversations with an ended conversation = %d, %v; want 1", len(cp.Conversations), err)
		}
	})
}
