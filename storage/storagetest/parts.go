package storagetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
)

// tricky is text every store must keep byte for byte: several scripts,
// emoji sequences, combining marks, line and paragraph separators, and
// what JSON, BSON, SQL and HTML give a meaning to.
const tricky = "naïve café — 日本語のテキスト, עברית, العربية, Ελληνικά; emoji 👩‍💻🎉🇫🇷, e\u0301, " +
	"line\u2028sep\u2029para, \"quotes\" 'single' \\back\\slash </script> <b>&amp;</b>\ttab\r\nnewline " +
	"{\"json\": [1, 2.5, null]} $dollar .dot %s %% ?; -- drop"

// everyPart returns parts of every kind, in an order no store could
// derive from their fields: all their fields are set somewhere, one part
// sets every field at once and one sets none but its kind. Their texts
// carry tag, so two calls give different parts.
func everyPart(tag string) []storage.Part {
	return []storage.Part{
		{Kind: storage.PartReasoning, Text: "thinking about " + tag + ": " + tricky, Signature: "sig/" + tag + "+=="},
		{Kind: storage.PartText, Text: "the answer of " + tag + " is " + tricky},
		{Kind: storage.PartToolCall, CallID: "call-1-" + tag, Name: "get_weather",
			Arguments: `{"city": "Zürich", "note": "` + tag + ` ☂", "days": [1, 2]}`,
			Approval:  storage.ApprovalPending, ApprovalExpiresAt: at(90_000)},
		{Kind: storage.PartToolCall, CallID: "call-2-" + tag, Name: "send_mail", Arguments: `{}`,
			Approval: storage.ApprovalApproved, ApprovalExpiresAt: at(91_234), ApprovedBy: "alice-" + tag},
		{Kind: storage.PartToolResult, CallID: "call-2-" + tag, Name: "send_mail", Text: "sent to ℬob " + tag},
		{Kind: storage.PartToolResult, CallID: "call-1-" + tag, Name: "get_weather", Text: "took too long",
			IsError: true, ErrorCode: "timeout"},
		{Kind: storage.PartFile, FileID: "file-" + tag, FileName: "résumé 📎 " + tag + ".pdf", MediaType: "application/pdf"},
		{Kind: storage.PartText},
		{Kind: storage.PartToolCall, Text: "every field " + tag, Signature: "s-" + tag, CallID: "call-3-" + tag, Name: "all",
			Arguments: `{"a": "` + tag + `"}`, IsError: true, ErrorCode: "denied", Approval: storage.ApprovalDenied,
			ApprovalExpiresAt: at(92_001), ApprovedBy: "bob", FileID: "f-" + tag, FileName: "n-" + tag, MediaType: "text/plain"},
		{Kind: storage.PartToolCall, CallID: "call-4-" + tag, Name: "slow", Arguments: `[]`, Approval: storage.ApprovalExpired,
			ApprovalExpiresAt: at(1)},
		{Kind: storage.PartReasoning, Text: "second thought " + tag},
		{Kind: storage.PartText, Text: "ok"},
	}
}

// withParts returns a complete assistant reply created at(ms) holding
// parts, its Text their text parts joined.
func withParts(convID, id string, ms int, parts []storage.Part) storage.Message {
	m := reply(convID, id, ms)
	m.Text, m.Parts = "", parts
	for _, p := range parts {
		if p.Kind == storage.PartText {
			m.Text += p.Text
		}
	}
	return m
}

// checkEverywhere compares what GetMessage and both listings return for
// want's message with want.
func checkEverywhere(t *testing.T, st storage.Store, what string, want storage.Message) {
	t.Helper()
	checkMsg(t, what+": GetMessage", mustGetMsg(t, st, want.ConversationID, want.ID), want)
	for _, o := range []storage.Order{storage.Ascending, storage.Descending} {
		found := false
		q := storage.MessageQuery{ConversationID: want.ConversationID, Order: o, Limit: storage.MaxPageSize}
		for range 100 {
			page, err := st.ListMessages(t.Context(), q)
			if err != nil {
				t.Fatalf("%s: ListMessages(%+v): %v", what, q, err)
			}
			for _, m := range page.Messages {
				if m.ID == want.ID {
					checkMsg(t, fmt.Sprintf("%s: ListMessages (order %d)", what, o), m, want)
					found = true
				}
			}
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		if !found {
			t.Errorf("%s: ListMessages (order %d) does not list %q", what, o, want.ID)
		}
	}
}

func (s suite) testParts(t *testing.T) {
	t.Run("RoundTripKeepsEveryFieldInOrder", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		want := withParts("conv-1", "r1", 10, everyPart("r1"))
		stored, created, err := st.AppendMessage(t.Context(), want)
		if err != nil || !created {
			t.Fatalf("AppendMessage = created %v, %v; want created, nil", created, err)
		}
		checkMsg(t, "message returned by AppendMessage", stored, want)
		// Neighbours with other parts, or none, keep theirs.
		other := withParts("conv-1", "r0", 5, everyPart("r0")[3:5])
		plain := msg("conv-1", "q2", 20)
		mustAppend(t, st, other, plain)
		checkEverywhere(t, st, "reply with every kind of part", want)
		checkEverywhere(t, st, "reply with two parts", other)
		checkEverywhere(t, st, "message without parts", plain)
	})

	t.Run("EmptyPartsReadAsNone", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		m := reply("conv-1", "r1", 10)
		m.Parts = []storage.Part{}
		mustAppend(t, st, m)
		if got := mustGetMsg(t, st, "conv-1", "r1"); len(got.Parts) != 0 {
			t.Errorf("message appended with an empty slice of parts reads back %d parts", len(got.Parts))
		}
	})

	t.Run("TwoHundredParts", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		var parts []storage.Part
		for i := 0; len(parts) < 200; i++ {
			parts = append(parts, everyPart(fmt.Sprintf("p%03d", i))...)
		}
		parts = parts[:200]
		want := withParts("conv-1", "r1", 10, parts)
		stored, _, err := st.AppendMessage(t.Context(), want)
		if err != nil {
			t.Fatal(err)
		}
		checkMsg(t, "AppendMessage of 200 parts", stored, want)
		checkEverywhere(t, st, "200 parts", want)

		// Reversed by an update: the order is the one last written.
		upd := want
		upd.Parts = slices.Clone(parts)
		slices.Reverse(upd.Parts)
		upd.UpdatedAt = at(50)
		mustUpdate(t, st, upd)
		checkEverywhere(t, st, "200 parts reversed by an update", upd)
	})

	t.Run("UpdateReplacesAndClearsParts", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		start := withParts("conv-1", "r1", 10, everyPart("start")[:2])
		start.Status, start.FinishReason, start.Error = storage.MessageStreaming, "", ""
		mustAppend(t, st, start)

		steps := []struct {
			name  string
			parts []storage.Part
		}{
			{"more parts", everyPart("upd")},
			{"fewer, other parts", everyPart("fewer")[5:7]},
			{"nil parts (a replace, not a merge)", nil},
			{"parts again", everyPart("again")[2:3]},
			{"an empty slice of parts", []storage.Part{}},
			{"the same parts twice", everyPart("twice")},
			{"the same parts twice, again", everyPart("twice")},
		}
		for i, step := range steps {
			upd := withParts("conv-1", "r1", 10, step.parts)
			upd.Status, upd.UpdatedAt = storage.MessageStreaming, at(20+i)
			// Fields UpdateMessage ignores: they must stay as appended.
			upd.Role, upd.ReplyTo, upd.CreatedAt = storage.RoleAssistant, "ignored", at(999)
			mustUpdate(t, st, upd)
			want := upd
			want.ReplyTo, want.CreatedAt = start.ReplyTo, start.CreatedAt
			checkEverywhere(t, st, "after an update with "+step.name, want)
		}
	})

	t.Run("RetriedAppendReturnsStoredParts", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		orig := withParts("conv-1", "r1", 10, everyPart("orig"))
		mustAppend(t, st, orig)

		for _, retry := range []storage.Message{
			orig,
			withParts("conv-1", "r1", 10, everyPart("other")[:3]),
			withParts("conv-1", "r1", 10, nil),
		} {
			got, created, err := st.AppendMessage(t.Context(), retry)
			if err != nil || created {
				t.Fatalf("retried append with %d parts: created %v, %v; want not created, nil", len(retry.Parts), created, err)
			}
			checkMsg(t, fmt.Sprintf("retry with %d parts returns the stored parts", len(retry.Parts)), got, orig)
		}
		checkEverywhere(t, st, "after retried appends", orig)

		upd := withParts("conv-1", "r1", 10, everyPart("updated")[4:])
		upd.UpdatedAt = at(30)
		mustUpdate(t, st, upd)
		got, created, err := st.AppendMessage(t.Context(), orig)
		if err != nil || created {
			t.Fatalf("append retried after an update: created %v, %v; want not created, nil", created, err)
		}
		checkMsg(t, "append retried after an update returns the updated parts", got, upd)
	})

	t.Run("AwaitingApprovalRoundTrip", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		// Appended paused, as a reply restored after a restart may be.
		paused := withParts("conv-1", "r1", 10, everyPart("paused")[:3])
		paused.Status, paused.FinishReason, paused.Error = storage.MessageAwaitingApproval, "", ""
		stored, _, err := st.AppendMessage(t.Context(), paused)
		if err != nil {
			t.Fatal(err)
		}
		checkMsg(t, "AppendMessage of a reply awaiting approval", stored, paused)
		checkEverywhere(t, st, "reply appended awaiting approval", paused)

		// Paused by an update, then resumed and finished.
		r2 := streaming("conv-1", "r2", 20, 10, 0)
		mustAppend(t, st, r2)
		for i, step := range []struct {
			status storage.MessageStatus
			parts  []storage.Part
		}{
			{storage.MessageAwaitingApproval, everyPart("ask")[2:3]},
			{storage.MessageStreaming, everyPart("approved")[3:5]},
			{storage.MessageAwaitingApproval, everyPart("ask-again")[2:4]},
			{storage.MessageComplete, everyPart("done")},
		} {
			upd := withParts("conv-1", "r2", 20, step.parts)
			upd.Status, upd.UpdatedAt, upd.Model, upd.ReplyTo = step.status, at(30+i), r2.Model, r2.ReplyTo
			mustUpdate(t, st, upd)
			checkEverywhere(t, st, fmt.Sprintf("after update %d to %s", i+1, step.status), upd)
		}
	})

	t.Run("UsageKeepsEveryField", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		m := reply("conv-1", "r1", 10)
		m.Usage = storage.Usage{InputTokens: 1 << 40, OutputTokens: 7, CachedInputTokens: 1<<40 - 1, ReasoningTokens: 5}
		stored, _, err := st.AppendMessage(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		checkMsg(t, "AppendMessage with every usage field", stored, m)
		checkEverywhere(t, st, "every usage field", m)
		for i, u := range []storage.Usage{
			{InputTokens: 3, OutputTokens: 4, CachedInputTokens: 2, ReasoningTokens: 1},
			{CachedInputTokens: 9},
			{ReasoningTokens: 8},
			{},
		} {
			upd := m
			upd.Usage, upd.UpdatedAt = u, at(20+i)
			mustUpdate(t, st, upd)
			checkEverywhere(t, st, fmt.Sprintf("after usage update %d", i+1), upd)
		}
	})
}
