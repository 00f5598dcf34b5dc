package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// reply returns a complete assistant reply with every field set.
func reply(convID, id string, ms int) storage.Message {
	return storage.Message{
		ID:             id,
		ConversationID: convID,
		Role:           storage.RoleAssistant,
		Text:           "answer " + id,
		Status:         storage.MessageComplete,
		FinishReason:   "error",
		Error:          "provider_unavailable",
		Model:          "model-a",
		ReplyTo:        "question-of-" + id,
		Usage:          storage.Usage{InputTokens: 120, OutputTokens: 45, CachedInputTokens: 100, ReasoningTokens: 30},
		CreatedAt:      at(ms),
		UpdatedAt:      at(ms + 7),
	}
}

func (s suite) testAppendMessage(t *testing.T) {
	t.Run("MissingRequiredFieldIsInvalidAndNotStored", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		cases := []struct {
			name  string
			clear func(*storage.Message)
		}{
			{"ID", func(m *storage.Message) { m.ID = "" }},
			{"ConversationID", func(m *storage.Message) { m.ConversationID = "" }},
			{"Role", func(m *storage.Message) { m.Role = "" }},
			{"CreatedAt", func(m *storage.Message) { m.CreatedAt = time.Time{} }},
		}
		for _, tc := range cases {
			m := msg("conv-1", "m-without-"+tc.name, 10)
			tc.clear(&m)
			_, created, err := st.AppendMessage(t.Context(), m)
			wantIs(t, err, storage.ErrInvalid, "AppendMessage without "+tc.name)
			if created {
				t.Errorf("AppendMessage without %s reported created", tc.name)
			}
		}
		page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1"})
		if err != nil || len(page.Messages) != 0 {
			t.Errorf("ListMessages after rejected appends = %v, %v; want none", msgIDs(page.Messages), err)
		}
		if c := mustGetConv(t, st, "conv-1"); !sameTime(c.UpdatedAt, at(1)) {
			t.Errorf("rejected appends moved UpdatedAt to %s", ms(c.UpdatedAt))
		}
	})

	t.Run("UnknownConversationIsNotFound", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		_, created, err := st.AppendMessage(t.Context(), msg("conv-2", "m1", 10))
		wantIs(t, err, storage.ErrNotFound, "AppendMessage to an unknown conversation")
		if created {
			t.Error("AppendMessage to an unknown conversation reported created")
		}
		_, err = st.GetConversation(t.Context(), "conv-2")
		wantIs(t, err, storage.ErrNotFound, "GetConversation after appending to it")
	})

	t.Run("CreatesAndReturnsEveryField", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		for _, m := range []storage.Message{
			msg("conv-1", "m1", 10),
			reply("conv-1", "m2", 20),
			{ID: "m3", ConversationID: "conv-1", Role: storage.RoleOperator, CreatedAt: at(30)},
			{ID: "m4", ConversationID: "conv-1", Role: storage.RoleSystem, Text: "note", Status: storage.MessageStreaming, CreatedAt: at(40)},
		} {
			stored, created, err := st.AppendMessage(t.Context(), m)
			if err != nil || !created {
				t.Fatalf("AppendMessage(%q) = created %v, %v; want created, nil", m.ID, created, err)
			}
			checkMsg(t, "message returned by AppendMessage", stored, m)
			checkMsg(t, "GetMessage", mustGetMsg(t, st, "conv-1", m.ID), m)
		}
	})

	t.Run("RetryReturnsStoredMessageAndChangesNothing", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		orig := reply("conv-1", "m1", 10)
		mustAppend(t, st, orig)
		before := mustGetConv(t, st, "conv-1")

		identical, created, err := st.AppendMessage(t.Context(), orig)
		if err != nil || created {
			t.Fatalf("identical retry: created %v, %v; want not created, nil", created, err)
		}
		checkMsg(t, "identical retry result", identical, orig)

		resent := orig
		resent.Text, resent.Status, resent.FinishReason, resent.Error = "other text", storage.MessageStreaming, "", ""
		resent.Model, resent.ReplyTo, resent.Usage, resent.Parts = "model-b", "other", storage.Usage{}, everyPart("resent")
		resent.CreatedAt, resent.UpdatedAt = at(500), at(500)
		got, created, err := st.AppendMessage(t.Context(), resent)
		if err != nil || created {
			t.Fatalf("retry with other content: created %v, %v; want not created, nil", created, err)
		}
		checkMsg(t, "retry with other content returns the stored message", got, orig)
		checkMsg(t, "GetMessage after retries", mustGetMsg(t, st, "conv-1", "m1"), orig)
		page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1"})
		if err != nil || len(page.Messages) != 1 {
			t.Fatalf("ListMessages after retries = %v, %v; want exactly m1", msgIDs(page.Messages), err)
		}
		checkMsg(t, "listed message after retries", page.Messages[0], orig)
		checkConv(t, "conversation after retries (UpdatedAt must not move)", mustGetConv(t, st, "conv-1"), before)
	})

	t.Run("RetryAfterUpdateReturnsUpdatedMessage", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		start := reply("conv-1", "m1", 10)
		start.Status, start.Text, start.FinishReason, start.Error = storage.MessageStreaming, "", "", ""
		mustAppend(t, st, start)
		done := reply("conv-1", "m1", 10)
		if err := st.UpdateMessage(t.Context(), done); err != nil {
			t.Fatal(err)
		}
		got, created, err := st.AppendMessage(t.Context(), start)
		if err != nil || created {
			t.Fatalf("retried start: created %v, %v; want not created, nil", created, err)
		}
		checkMsg(t, "retried start returns the stored, finished reply", got, done)
	})

	t.Run("SameIDWithAnotherRoleIsConflict", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		orig := msg("conv-1", "m1", 10)
		mustAppend(t, st, orig)
		other := orig
		other.Role = storage.RoleAssistant
		_, created, err := st.AppendMessage(t.Context(), other)
		wantIs(t, err, storage.ErrConflict, "AppendMessage of a user message id as an assistant reply")
		if created {
			t.Error("conflicting append reported created")
		}
		checkMsg(t, "GetMessage after the conflict", mustGetMsg(t, st, "conv-1", "m1"), orig)
	})

	t.Run("SameIDInTwoConversationsAreTwoMessages", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-a", "alice", 1), conv("conv-b", "bob", 2))
		a := msg("conv-a", "m1", 10)
		b := reply("conv-b", "m1", 20)
		mustAppend(t, st, a, b)
		checkMsg(t, "m1 of conv-a", mustGetMsg(t, st, "conv-a", "m1"), a)
		checkMsg(t, "m1 of conv-b", mustGetMsg(t, st, "conv-b", "m1"), b)
		for _, want := range []storage.Message{a, b} {
			page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: want.ConversationID})
			if err != nil || len(page.Messages) != 1 {
				t.Fatalf("ListMessages(%q) = %v, %v; want its own m1 only", want.ConversationID, msgIDs(page.Messages), err)
			}
			checkMsg(t, "listed m1 of "+want.ConversationID, page.Messages[0], want)
		}
	})

	t.Run("MovesConversationUpdatedAtForwardOnly", func(t *testing.T) {
		st := s.store(t)
		c := conv("conv-1", "alice", 1)
		mustCreate(t, st, c, conv("conv-2", "alice", 2))
		steps := []struct {
			m    storage.Message
			want time.Time
		}{
			{msg("conv-1", "m1", 50), at(50)},
			{msg("conv-1", "m0", 30), at(50)}, // older than UpdatedAt: no move back
			{reply("conv-1", "m2", 90), at(90)},
		}
		for _, step := range steps {
			mustAppend(t, st, step.m)
			got := mustGetConv(t, st, "conv-1")
			if !sameTime(got.UpdatedAt, step.want) {
				t.Errorf("after appending %q at %s: UpdatedAt = %s, want %s", step.m.ID, ms(step.m.CreatedAt), ms(got.UpdatedAt), ms(step.want))
			}
			want := c
			want.UpdatedAt = got.UpdatedAt
			checkConv(t, "conversation fields other than UpdatedAt", got, want)
		}
		if other := mustGetConv(t, st, "conv-2"); !sameTime(other.UpdatedAt, at(2)) {
			t.Errorf("appending to conv-1 moved conv-2's UpdatedAt to %s", ms(other.UpdatedAt))
		}
	})
}

func (s suite) testUpdateMessage(t *testing.T) {
	setup := func(t *testing.T) (storage.Store, storage.Message) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		start := storage.Message{
			ID: "r1", ConversationID: "conv-1", Role: storage.RoleAssistant, Status: storage.MessageStreaming,
			Model: "model-a", ReplyTo: "q1", CreatedAt: at(10), UpdatedAt: at(10),
		}
		mustAppend(t, st, msg("conv-1", "q1", 5), start, msg("conv-1", "q2", 20))
		return st, start
	}

	t.Run("ReplacesOnlyMutableFields", func(t *testing.T) {
		st, start := setup(t)
		upd := storage.Message{
			ID: "r1", ConversationID: "conv-1",
			Text: "full answer", Status: storage.MessageComplete, FinishReason: "error", Error: "provider_timeout",
			Usage: storage.Usage{InputTokens: 11, OutputTokens: 22, CachedInputTokens: 3, ReasoningTokens: 4}, UpdatedAt: at(15), Model: "model-z",
			Parts: everyPart("upd"),
			// Not mutable: must be ignored.
			Role: storage.RoleUser, ReplyTo: "zz", CreatedAt: at(999),
		}
		if err := st.UpdateMessage(t.Context(), upd); err != nil {
			t.Fatalf("UpdateMessage: %v", err)
		}
		want := start
		want.Text, want.Status, want.FinishReason, want.Error = upd.Text, upd.Status, upd.FinishReason, upd.Error
		want.Usage, want.UpdatedAt, want.Model, want.Parts = upd.Usage, upd.UpdatedAt, upd.Model, upd.Parts
		checkMsg(t, "GetMessage after UpdateMessage", mustGetMsg(t, st, "conv-1", "r1"), want)

		// Replacing means empty values too, not a merge.
		cleared := storage.Message{ID: "r1", ConversationID: "conv-1", Status: storage.MessageComplete, FinishReason: "stop", UpdatedAt: at(16)}
		if err := st.UpdateMessage(t.Context(), cleared); err != nil {
			t.Fatalf("second UpdateMessage: %v", err)
		}
		want.Text, want.Error, want.Usage, want.Model, want.Parts = "", "", storage.Usage{}, "", nil
		want.FinishReason, want.UpdatedAt = "stop", at(16)
		checkMsg(t, "GetMessage after an update with empty fields", mustGetMsg(t, st, "conv-1", "r1"), want)

		page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := msgIDs(page.Messages); !slices.Equal(got, []string{"q1", "r1", "q2"}) {
			t.Fatalf("listing after updates = %v, want [q1 r1 q2] (position follows the stored CreatedAt)", got)
		}
		checkMsg(t, "listed updated message", page.Messages[1], want)
	})

	t.Run("IsIdempotent", func(t *testing.T) {
		st, start := setup(t)
		upd := start
		upd.Text, upd.Status, upd.FinishReason, upd.UpdatedAt = "answer", storage.MessageComplete, "stop", at(12)
		for i := range 3 {
			if err := st.UpdateMessage(t.Context(), upd); err != nil {
				t.Fatalf("UpdateMessage #%d: %v", i+1, err)
			}
			checkMsg(t, "GetMessage after repeated UpdateMessage", mustGetMsg(t, st, "conv-1", "r1"), upd)
		}
	})

	t.Run("UnknownIsNotFoundAndNotCreated", func(t *testing.T) {
		st, _ := setup(t)
		mustCreate(t, st, conv("conv-2", "alice", 2))
		for _, m := range []storage.Message{
			reply("conv-1", "r-unknown", 10),
			reply("conv-2", "r1", 10), // r1 exists, but in conv-1
			reply("conv-unknown", "r1", 10),
		} {
			wantIs(t, st.UpdateMessage(t.Context(), m), storage.ErrNotFound, "UpdateMessage("+m.ConversationID+", "+m.ID+")")
			_, err := st.GetMessage(t.Context(), m.ConversationID, m.ID)
			wantIs(t, err, storage.ErrNotFound, "GetMessage after updating an unknown message")
		}
		for _, m := range []storage.Message{{ConversationID: "conv-1", Text: "x"}, {ID: "r1", Text: "x"}} {
			err := st.UpdateMessage(t.Context(), m)
			if !errorsIsAny(err, storage.ErrInvalid, storage.ErrNotFound) {
				t.Errorf("UpdateMessage with an empty id: err = %v, want ErrInvalid or ErrNotFound", err)
			}
		}
		if got := mustGetMsg(t, st, "conv-1", "r1"); got.Text != "" {
			t.Errorf("rejected updates changed r1's Text to %q", got.Text)
		}
	})
}

func (s suite) testGetMessage(t *testing.T) {
	t.Run("UnknownIsNotFound", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1), conv("conv-2", "alice", 2))
		mustAppend(t, st, msg("conv-1", "m1", 10))
		for _, ids := range [][2]string{{"conv-1", "m2"}, {"conv-2", "m1"}, {"conv-3", "m1"}, {"", "m1"}, {"conv-1", ""}} {
			_, err := st.GetMessage(t.Context(), ids[0], ids[1])
			wantIs(t, err, storage.ErrNotFound, "GetMessage("+ids[0]+", "+ids[1]+")")
		}
	})
}
