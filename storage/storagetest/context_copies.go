package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// deadContext is a context every method must refuse, with the error it
// must return.
type deadContext struct {
	name string
	ctx  func(t *testing.T) context.Context
	want error
}

// deadContexts are a cancelled context and one past its deadline.
func deadContexts() []deadContext {
	cancelled := func(t *testing.T) context.Context {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		return ctx
	}
	expired := func(t *testing.T) context.Context {
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		t.Cleanup(cancel)
		return ctx
	}
	return []deadContext{
		{"CancelledContextFailsEveryMethod", cancelled, context.Canceled},
		{"ExpiredDeadlineFailsEveryMethod", expired, context.DeadlineExceeded},
	}
}

func (s suite) testContext(t *testing.T) {
	for _, tc := range deadContexts() {
		t.Run(tc.name, func(t *testing.T) {
			st := s.store(t)
			// Every call below would succeed with a live context.
			mustCreate(t, st, conv("conv-1", "alice", 1))
			m := msg("conv-1", "m1", 10)
			mustAppend(t, st, m)
			ctx := tc.ctx(t)

			wantIs(t, st.CreateConversation(ctx, conv("conv-2", "alice", 2)), tc.want, "CreateConversation")
			_, err := st.GetConversation(ctx, "conv-1")
			wantIs(t, err, tc.want, "GetConversation")
			_, err = st.ListConversations(ctx, storage.ConversationQuery{UserID: "alice"})
			wantIs(t, err, tc.want, "ListConversations")
			_, _, err = st.AppendMessage(ctx, msg("conv-1", "m2", 20))
			wantIs(t, err, tc.want, "AppendMessage of a new message")
			_, _, err = st.AppendMessage(ctx, m)
			wantIs(t, err, tc.want, "AppendMessage of a stored message")
			upd := m
			upd.Text = "edited"
			wantIs(t, st.UpdateMessage(ctx, upd), tc.want, "UpdateMessage")
			_, err = st.GetMessage(ctx, "conv-1", "m1")
			wantIs(t, err, tc.want, "GetMessage")
			_, err = st.ListMessages(ctx, storage.MessageQuery{ConversationID: "conv-1"})
			wantIs(t, err, tc.want, "ListMessages")
			wantIs(t, st.EndConversation(ctx, "conv-1", at(30)), tc.want, "EndConversation")
			_, _, err = st.ChangeMode(ctx, change("conv-1", operator, "op-1", 40, ai))
			wantIs(t, err, tc.want, "ChangeMode")
			wantIs(t, st.AppendAudit(ctx, entry("e-1", 40, "op-1", storage.AuditTakeover, "conv-1")), tc.want, "AppendAudit")
			_, err = st.ListAudit(ctx, storage.AuditQuery{})
			wantIs(t, err, tc.want, "ListAudit")
			_, err = st.Aggregate(ctx, storage.AggregateQuery{})
			wantIs(t, err, tc.want, "Aggregate")
			_, err = st.ListConversations(ctx, storage.ConversationQuery{Sort: storage.SortByTokens, WithTotal: true})
			wantIs(t, err, tc.want, "ListConversations by tokens with a total")

			// Nothing was written.
			if c := mustGetConv(t, st, "conv-1"); c.Mode != ai || c.Status != storage.StatusActive {
				t.Errorf("after calls with a dead context: mode %q, status %q; want %q, %q", c.Mode, c.Status, ai, storage.StatusActive)
			}
			if page, err := st.ListAudit(t.Context(), storage.AuditQuery{}); err != nil || len(page.Entries) != 0 {
				t.Errorf("audit log after AppendAudit with a dead context: %d entries, %v; want none", len(page.Entries), err)
			}
		})
	}
}

func (s suite) testCopies(t *testing.T) {
	t.Run("MetadataPassedInIsCopied", func(t *testing.T) {
		st := s.store(t)
		c := conv("conv-1", "alice", 1)
		want := c
		want.Metadata = map[string]string{"source": "storagetest", "conv": "conv-1"}
		mustCreate(t, st, c)
		c.Metadata["source"] = "mutated"
		c.Metadata["added"] = "x"
		checkConv(t, "GetConversation after mutating the map passed to CreateConversation", mustGetConv(t, st, "conv-1"), want)
	})

	t.Run("ReturnedConversationsAreCopies", func(t *testing.T) {
		st := s.store(t)
		want := conv("conv-1", "alice", 1)
		mustCreate(t, st, conv("conv-1", "alice", 1))

		got := mustGetConv(t, st, "conv-1")
		got.Metadata["source"] = "mutated"
		got.Metadata["added"] = "x"
		got.Title = "mutated"
		checkConv(t, "GetConversation after mutating a previous result", mustGetConv(t, st, "conv-1"), want)

		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: "alice"})
		if err != nil || len(page.Conversations) != 1 {
			t.Fatalf("ListConversations = %d, %v; want 1", len(page.Conversations), err)
		}
		page.Conversations[0].Metadata["source"] = "mutated by list"
		page.Conversations[0].Title = "mutated by list"
		checkConv(t, "GetConversation after mutating a listed conversation", mustGetConv(t, st, "conv-1"), want)
		again, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: "alice"})
		if err != nil || len(again.Conversations) != 1 {
			t.Fatalf("ListConversations = %d, %v; want 1", len(again.Conversations), err)
		}
		checkConv(t, "ListConversations after mutating a listed conversation", again.Conversations[0], want)
	})

	t.Run("ReturnedMessagesAreCopies", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		want := reply("conv-1", "m1", 10)
		stored, _, err := st.AppendMessage(t.Context(), want)
		if err != nil {
			t.Fatal(err)
		}
		stored.Text = "mutated by append"
		got := mustGetMsg(t, st, "conv-1", "m1")
		got.Text, got.Usage.OutputTokens = "mutated by get", 1
		page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1"})
		if err != nil || len(page.Messages) != 1 {
			t.Fatalf("ListMessages = %d, %v; want 1", len(page.Messages), err)
		}
		page.Messages[0].Text = "mutated by list"
		checkMsg(t, "GetMessage after mutating returned messages", mustGetMsg(t, st, "conv-1", "m1"), want)
		page, err = st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1"})
		if err != nil || len(page.Messages) != 1 {
			t.Fatalf("ListMessages = %d, %v; want 1", len(page.Messages), err)
		}
		checkMsg(t, "ListMessages after mutating returned messages", page.Messages[0], want)
	})
}

// testPartCopies holds a store to the rule that parts are values: neither
// the slice a caller passed in nor one a store returned is shared with
// what the store holds.
func (s suite) testPartCopies(t *testing.T) {
	t.Run("PartsPassedInAreCopied", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		in := withParts("conv-1", "m1", 10, everyPart("in"))
		want := in
		want.Parts = everyPart("in")
		mustAppend(t, st, in)
		in.Parts[0].Text, in.Parts[1].ApprovalExpiresAt, in.Parts[2].Arguments = "mutated", at(5), "{}"
		in.Parts = append(in.Parts[:1], in.Parts[3:]...) // shifts the rest of the caller's array
		checkMsg(t, "GetMessage after mutating the parts passed to AppendMessage", mustGetMsg(t, st, "conv-1", "m1"), want)

		upd := withParts("conv-1", "m1", 10, everyPart("upd"))
		upd.UpdatedAt = at(20)
		want = upd
		want.Parts = everyPart("upd")
		mustUpdate(t, st, upd)
		upd.Parts[0].Text, upd.Parts[3].ApprovedBy = "mutated", "mallory"
		checkMsg(t, "GetMessage after mutating the parts passed to UpdateMessage", mustGetMsg(t, st, "conv-1", "m1"), want)
	})

	t.Run("ReturnedPartsAreCopies", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		want := withParts("conv-1", "m1", 10, everyPart("m1"))
		stored, _, err := st.AppendMessage(t.Context(), withParts("conv-1", "m1", 10, everyPart("m1")))
		if err != nil {
			t.Fatal(err)
		}
		stored.Parts[0].Text = "mutated by append"
		retried, _, err := st.AppendMessage(t.Context(), want)
		if err != nil {
			t.Fatal(err)
		}
		retried.Parts[1].Text = "mutated by a retried append"
		got := mustGetMsg(t, st, "conv-1", "m1")
		got.Parts[2].Name, got.Parts[2].IsError = "mutated by get", true
		page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1"})
		if err != nil || len(page.Messages) != 1 {
			t.Fatalf("ListMessages = %d, %v; want 1", len(page.Messages), err)
		}
		page.Messages[0].Parts[3].Approval = storage.ApprovalDenied
		checkEverywhere(t, st, "after mutating returned parts", want)
	})
}
