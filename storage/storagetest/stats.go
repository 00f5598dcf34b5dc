package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// streaming returns an assistant reply created at(ms), still streaming,
// with usage so far.
func streaming(convID, id string, ms int, in, out int64) storage.Message {
	return storage.Message{
		ID: id, ConversationID: convID, Role: storage.RoleAssistant, Status: storage.MessageStreaming,
		Model: "model-a", Usage: storage.Usage{InputTokens: in, OutputTokens: out}, CreatedAt: at(ms), UpdatedAt: at(ms),
	}
}

// completed returns the update finishing reply r at(ms) with its usage.
func completed(r storage.Message, ms int, in, out int64) storage.Message {
	r.Text, r.Status, r.FinishReason, r.UpdatedAt = "answer "+r.ID, storage.MessageComplete, "stop", at(ms)
	r.Usage = storage.Usage{InputTokens: in, OutputTokens: out}
	return r
}

func mustUpdate(t *testing.T, st storage.Store, ms ...storage.Message) {
	t.Helper()
	for _, m := range ms {
		if err := st.UpdateMessage(t.Context(), m); err != nil {
			t.Fatalf("UpdateMessage(%q, %q): %v", m.ConversationID, m.ID, err)
		}
	}
}

// checkStats compares the Stats that GetConversation and ListConversations
// return for conversation id with want.
func checkStats(t *testing.T, st storage.Store, what, id string, want storage.ConversationStats) {
	t.Helper()
	if got := mustGetConv(t, st, id).Stats; got != want {
		t.Errorf("%s: GetConversation(%q).Stats\n got %+v\nwant %+v", what, id, got, want)
	}
	c := mustGetConv(t, st, id)
	q := storage.ConversationQuery{UserID: c.UserID, CreatedFrom: c.CreatedAt, CreatedBefore: c.CreatedAt.Add(time.Millisecond), Limit: storage.MaxPageSize}
	for _, listed := range listAll(t, st, q) {
		if listed.ID == id {
			if listed.Stats != want {
				t.Errorf("%s: ListConversations' Stats of %q\n got %+v\nwant %+v", what, id, listed.Stats, want)
			}
			return
		}
	}
	t.Errorf("%s: ListConversations(%+v) does not list %q", what, q, id)
}

// listAll returns every conversation q lists, over all its pages.
func listAll(t *testing.T, st storage.Store, q storage.ConversationQuery) []storage.Conversation {
	t.Helper()
	var all []storage.Conversation
	for range 1000 {
		page, err := st.ListConversations(t.Context(), q)
		if err != nil {
			t.Fatalf("ListConversations(%+v): %v", q, err)
		}
		all = append(all, page.Conversations...)
		if page.NextCursor == "" {
			return all
		}
		q.Cursor = page.NextCursor
	}
	t.Fatalf("ListConversations(%+v): more than 1000 pages", q)
	return nil
}

func (s suite) testStats(t *testing.T) {
	t.Run("CountsMessagesAndOperatorAssistance", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1), conv("conv-2", "alice", 2))
		checkStats(t, st, "new conversation", "conv-1", storage.ConversationStats{})

		mustAppend(t, st, msg("conv-1", "q1", 10), reply("conv-1", "r1", 20))
		sys := msg("conv-1", "s1", 30)
		sys.Role = storage.RoleSystem
		mustAppend(t, st, sys)
		// A retried append, a conflicting one and a rejected one count nothing.
		if _, created, err := st.AppendMessage(t.Context(), msg("conv-1", "q1", 10)); err != nil || created {
			t.Fatalf("retried append: created %v, %v", created, err)
		}
		conflicting := msg("conv-1", "r1", 20)
		_, _, err := st.AppendMessage(t.Context(), conflicting)
		wantIs(t, err, storage.ErrConflict, "append of a reply's id as a user message")
		_, _, err = st.AppendMessage(t.Context(), storage.Message{ConversationID: "conv-1", Role: storage.RoleOperator, CreatedAt: at(40)})
		wantIs(t, err, storage.ErrInvalid, "append of an operator message without id")
		r1 := reply("conv-1", "r1", 20)
		want := storage.ConversationStats{MessageCount: 3, Usage: r1.Usage}
		checkStats(t, st, "after a user message, a complete reply and a system message", "conv-1", want)

		mustAppend(t, st, storage.Message{ID: "o1", ConversationID: "conv-1", Role: storage.RoleOperator, Text: "hello", CreatedAt: at(50)})
		want.MessageCount, want.OperatorAssisted = 4, true
		checkStats(t, st, "after an operator message", "conv-1", want)
		mustAppend(t, st, msg("conv-1", "q2", 60))
		want.MessageCount = 5
		checkStats(t, st, "after a user message following the operator's", "conv-1", want)
		checkStats(t, st, "the other conversation", "conv-2", storage.ConversationStats{})
	})

	t.Run("UsageAndResponseTimes", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0), conv("conv-2", "alice", 1))
		r1 := streaming("conv-1", "r1", 2000, 0, 0)
		r2 := streaming("conv-1", "r2", 5000, 10, 0) // usage known at the start counts
		r3 := reply("conv-1", "r3", 6000)            // appended complete: usage, no response
		r3.Usage = storage.Usage{InputTokens: 5, OutputTokens: 5}
		r4 := streaming("conv-1", "r4", 7000, 0, 0)
		mustAppend(t, st, msg("conv-1", "q1", 1000), r1, r2, r3, r4)
		want := storage.ConversationStats{MessageCount: 5, Usage: storage.Usage{InputTokens: 15, OutputTokens: 5}}
		checkStats(t, st, "after appends", "conv-1", want)

		partial := r1
		partial.Text, partial.UpdatedAt = "part", at(2500)
		mustUpdate(t, st, partial)
		checkStats(t, st, "after an update that keeps r1 streaming", "conv-1", want)

		done1 := completed(r1, 3500, 100, 40)
		for range 2 { // the repeated update adds nothing
			mustUpdate(t, st, done1)
		}
		want.Usage = storage.Usage{InputTokens: 115, OutputTokens: 45}
		want.Responses, want.ResponseTimeTotal = 1, 1500*time.Millisecond
		want.ResponseTimeMin, want.ResponseTimeMax = 1500*time.Millisecond, 1500*time.Millisecond
		checkStats(t, st, "after r1 completed in 1.5s (twice)", "conv-1", want)

		mustUpdate(t, st, completed(r2, 5500, 200, 10), completed(r4, 9000, 30, 20))
		want.Usage = storage.Usage{InputTokens: 115 - 10 + 200 + 30, OutputTokens: 45 + 10 + 20}
		want.Responses, want.ResponseTimeTotal = 3, 4000*time.Millisecond
		want.ResponseTimeMin, want.ResponseTimeMax = 500*time.Millisecond, 2000*time.Millisecond
		checkStats(t, st, "after r2 (0.5s) and r4 (2s) completed", "conv-1", want)

		// Updates of complete messages move the usage by the difference
		// and count no response.
		mustUpdate(t, st, completed(r2, 9500, 250, 10), completed(r3, 9600, 7, 5))
		want.Usage.InputTokens += 50 + 2
		checkStats(t, st, "after corrections of complete replies", "conv-1", want)

		// Rejected updates count nothing.
		wantIs(t, st.UpdateMessage(t.Context(), completed(streaming("conv-1", "r9", 1, 0, 0), 10_000, 1, 1)), storage.ErrNotFound, "update of an unknown reply")
		wantIs(t, st.UpdateMessage(t.Context(), completed(streaming("conv-9", "r1", 1, 0, 0), 10_000, 1, 1)), storage.ErrNotFound, "update in an unknown conversation")
		checkStats(t, st, "after rejected updates", "conv-1", want)
		checkStats(t, st, "the other conversation", "conv-2", storage.ConversationStats{})
	})

	t.Run("UsageSumsEveryField", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0))
		r1 := streaming("conv-1", "r1", 1000, 10, 0)
		r1.Usage.CachedInputTokens = 8
		r2 := reply("conv-1", "r2", 2000)
		r2.Usage = storage.Usage{InputTokens: 50, OutputTokens: 20, CachedInputTokens: 40, ReasoningTokens: 15}
		mustAppend(t, st, r1, r2)
		want := storage.ConversationStats{MessageCount: 2,
			Usage: storage.Usage{InputTokens: 60, OutputTokens: 20, CachedInputTokens: 48, ReasoningTokens: 15}}
		checkStats(t, st, "after appends", "conv-1", want)

		done := completed(r1, 1500, 100, 30)
		done.Usage.CachedInputTokens, done.Usage.ReasoningTokens = 90, 12
		for range 2 { // the repeated update adds nothing
			mustUpdate(t, st, done)
		}
		want.Usage = storage.Usage{InputTokens: 150, OutputTokens: 50, CachedInputTokens: 130, ReasoningTokens: 27}
		want.Responses, want.ResponseTimeTotal = 1, 500*time.Millisecond
		want.ResponseTimeMin, want.ResponseTimeMax = 500*time.Millisecond, 500*time.Millisecond
		checkStats(t, st, "after r1 completed (twice)", "conv-1", want)

		// A correction that moves only the new fields moves only them.
		fix := r2
		fix.Usage.CachedInputTokens, fix.Usage.ReasoningTokens, fix.UpdatedAt = 10, 0, at(2500)
		mustUpdate(t, st, fix)
		want.Usage.CachedInputTokens, want.Usage.ReasoningTokens = 100, 12
		checkStats(t, st, "after a correction of cached and reasoning tokens", "conv-1", want)
	})

	t.Run("AwaitingApprovalCountsOneResponse", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0))
		r1 := streaming("conv-1", "r1", 1000, 0, 0)
		r2 := streaming("conv-1", "r2", 5000, 0, 0)
		r3 := streaming("conv-1", "r3", 8000, 0, 0)
		r3.Status = storage.MessageAwaitingApproval // appended paused
		mustAppend(t, st, r1, r2, r3)
		want := storage.ConversationStats{MessageCount: 3}
		pause := func(r storage.Message, ms int, status storage.MessageStatus) storage.Message {
			r.Status, r.UpdatedAt, r.Parts = status, at(ms), everyPart(r.ID)[2:4]
			return r
		}

		// r1: streaming, awaiting approval, streaming, awaiting again,
		// streaming, complete: one response, from its creation to the end.
		for i, status := range []storage.MessageStatus{storage.MessageAwaitingApproval, storage.MessageStreaming,
			storage.MessageAwaitingApproval, storage.MessageStreaming} {
			mustUpdate(t, st, pause(r1, 1100+i*100, status))
			checkStats(t, st, fmt.Sprintf("after r1's step %d to %s", i+1, status), "conv-1", want)
		}
		for range 2 { // the repeated completion counts once
			mustUpdate(t, st, completed(r1, 3000, 0, 0))
		}
		want.Responses, want.ResponseTimeTotal = 1, 2000*time.Millisecond
		want.ResponseTimeMin, want.ResponseTimeMax = 2000*time.Millisecond, 2000*time.Millisecond
		checkStats(t, st, "after r1 paused twice, then completed (twice)", "conv-1", want)

		// r2 ends while it awaits approval (the call was denied or
		// expired): that completes it too.
		mustUpdate(t, st, pause(r2, 5100, storage.MessageAwaitingApproval))
		mustUpdate(t, st, completed(r2, 5400, 0, 0), completed(r2, 5400, 0, 0))
		want.Responses, want.ResponseTimeTotal, want.ResponseTimeMin = 2, 2400*time.Millisecond, 400*time.Millisecond
		checkStats(t, st, "after r2 completed from awaiting approval", "conv-1", want)

		// r3, appended awaiting approval, resumes and completes.
		mustUpdate(t, st, pause(r3, 8100, storage.MessageStreaming))
		checkStats(t, st, "after r3 resumed", "conv-1", want)
		mustUpdate(t, st, completed(r3, 11_000, 0, 0))
		want.Responses, want.ResponseTimeTotal, want.ResponseTimeMax = 3, 5400*time.Millisecond, 3000*time.Millisecond
		checkStats(t, st, "after r3 completed", "conv-1", want)

		agg, err := st.Aggregate(t.Context(), storage.AggregateQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if agg.Responses != 3 || agg.ResponseTimeP50 != 2000*time.Millisecond || agg.ResponseTimeP99 != 3000*time.Millisecond {
			t.Errorf("Aggregate: %d responses, p50 %v, p99 %v; want 3, 2s, 3s", agg.Responses, agg.ResponseTimeP50, agg.ResponseTimeP99)
		}
	})

	t.Run("ExactUnderConcurrency", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0))
		const (
			workers = 8
			turns   = 4
			racers  = 8
		)
		shared := streaming("conv-1", "shared", 100_000, 0, 0)
		mustAppend(t, st, shared)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for j := range turns {
					base := 1 + (w*turns+j)*100
					q := msg("conv-1", fmt.Sprintf("q-%d-%d", w, j), base)
					r := streaming("conv-1", fmt.Sprintf("r-%d-%d", w, j), base+1, 0, 0)
					for _, m := range []storage.Message{q, r, q} { // q twice: the retry counts nothing
						if _, _, err := st.AppendMessage(t.Context(), m); err != nil {
							t.Errorf("AppendMessage(%q): %v", m.ID, err)
							return
						}
					}
					done := completed(r, base+1+(j+1)*10, 3, 4)
					for range 2 {
						if err := st.UpdateMessage(t.Context(), done); err != nil {
							t.Errorf("UpdateMessage(%q): %v", done.ID, err)
							return
						}
					}
				}
			})
		}
		// Every racer completes the same reply: it counts once.
		for range racers {
			wg.Go(func() {
				if err := st.UpdateMessage(t.Context(), completed(shared, 100_000+70, 10, 20)); err != nil {
					t.Errorf("UpdateMessage(shared): %v", err)
				}
			})
		}
		// Every racer appends the same message: it counts once.
		for range racers {
			wg.Go(func() {
				if _, _, err := st.AppendMessage(t.Context(), msg("conv-1", "same", 200_000)); err != nil {
					t.Errorf("AppendMessage(same): %v", err)
				}
			})
		}
		wg.Wait()
		var total time.Duration
		for j := range turns {
			total += time.Duration((j+1)*10) * time.Millisecond * workers
		}
		want := storage.ConversationStats{
			MessageCount:      workers*turns*2 + 2,
			Usage:             storage.Usage{InputTokens: workers*turns*3 + 10, OutputTokens: workers*turns*4 + 20},
			Responses:         workers*turns + 1,
			ResponseTimeTotal: total + 70*time.Millisecond,
			ResponseTimeMin:   10 * time.Millisecond,
			ResponseTimeMax:   70 * time.Millisecond,
		}
		checkStats(t, st, "after concurrent appends and completions", "conv-1", want)
	})
}
