package storagetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// Modes, abbreviated for the fixtures.
const (
	ai       = storage.ModeAI
	waiting  = storage.ModeWaiting
	operator = storage.ModeOperator
)

// change returns a ModeChange of conversation id at(ms).
func change(id string, to storage.Mode, op string, ms int, from ...storage.Mode) storage.ModeChange {
	return storage.ModeChange{ConversationID: id, From: from, To: to, Operator: op, At: at(ms)}
}

// modeState is the part of a conversation ChangeMode writes.
type modeState struct {
	Mode     storage.Mode
	Operator string
	ChangeAt string
}

func modeOf(c storage.Conversation) modeState {
	return modeState{c.Mode, c.Operator, ms(c.ModeChangedAt)}
}

func wantMode(mode storage.Mode, op string, changedAt time.Time) modeState {
	return modeState{mode, op, ms(changedAt)}
}

// checkMode compares the mode state of got, and of the stored conversation,
// with want; their other fields must be base's.
func checkMode(t *testing.T, st storage.Store, what string, got storage.Conversation, want modeState, base storage.Conversation) {
	t.Helper()
	stored := mustGetConv(t, st, base.ID)
	for _, c := range []struct {
		name string
		conv storage.Conversation
	}{{"returned", got}, {"stored", stored}} {
		if g := modeOf(c.conv); g != want {
			t.Errorf("%s: %s mode %+v, want %+v", what, c.name, g, want)
		}
		w := base
		w.Mode, w.Operator, w.ModeChangedAt = c.conv.Mode, c.conv.Operator, c.conv.ModeChangedAt
		checkConv(t, what+": "+c.name+" conversation", c.conv, w)
	}
}

// mustChange applies c and fails the test on an error or when the call
// does not report a change.
func mustChange(t *testing.T, st storage.Store, c storage.ModeChange) storage.Conversation {
	t.Helper()
	return mustChangeMode(t, st, c, true)
}

// mustChangeMode applies c and fails the test on an error or when the
// call's changed result is not want.
func mustChangeMode(t *testing.T, st storage.Store, c storage.ModeChange, want bool) storage.Conversation {
	t.Helper()
	got, changed, err := st.ChangeMode(t.Context(), c)
	if err != nil {
		t.Fatalf("ChangeMode(%+v): %v", c, err)
	}
	if changed != want {
		t.Errorf("ChangeMode(%+v) reported changed %v, want %v", c, changed, want)
	}
	return got
}

func (s suite) testChangeMode(t *testing.T) {
	t.Run("NewConversationIsInAIModeWithZeroStats", func(t *testing.T) {
		st := s.store(t)
		c := conv("conv-1", "alice", 1)
		c.Mode, c.Operator, c.ModeChangedAt = operator, "op-1", at(5)
		c.Stats = storage.ConversationStats{MessageCount: 9, OperatorAssisted: true, Responses: 2, Usage: storage.Usage{InputTokens: 7}}
		mustCreate(t, st, c)
		got := mustGetConv(t, st, "conv-1")
		if g := modeOf(got); g != wantMode(ai, "", time.Time{}) {
			t.Errorf("GetConversation of a new conversation: mode %+v, want %q, no operator, zero ModeChangedAt", g, ai)
		}
		if got.Stats != (storage.ConversationStats{}) {
			t.Errorf("GetConversation of a new conversation: Stats %+v, want zero (CreateConversation ignores them)", got.Stats)
		}
		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{})
		if err != nil || len(page.Conversations) != 1 {
			t.Fatalf("ListConversations = %d, %v; want 1", len(page.Conversations), err)
		}
		if g := page.Conversations[0].Mode; g != ai {
			t.Errorf("listed mode of a new conversation = %q, want %q (never empty)", g, ai)
		}
	})

	t.Run("EveryTransition", func(t *testing.T) {
		st := s.store(t)
		base := conv("conv-1", "alice", 1)
		mustCreate(t, st, base, conv("conv-2", "bob", 2))
		steps := []struct {
			name string
			c    storage.ModeChange
			want modeState
		}{
			{"ai to waiting", change("conv-1", waiting, "", 10, ai), wantMode(waiting, "", at(10))},
			{"waiting to operator", change("conv-1", operator, "op-1", 20, waiting), wantMode(operator, "op-1", at(20))},
			{"operator to ai", change("conv-1", ai, "op-1", 30, operator), wantMode(ai, "", at(30))},
			{"ai to operator", change("conv-1", operator, "op-2", 40, ai, waiting), wantMode(operator, "op-2", at(40))},
			{"operator to waiting", change("conv-1", waiting, "op-2", 50, operator), wantMode(waiting, "", at(50))},
			{"waiting to ai", change("conv-1", ai, "", 60, waiting), wantMode(ai, "", at(60))},
			{"empty From mode read as ai", change("conv-1", waiting, "", 70, ""), wantMode(waiting, "", at(70))},
		}
		for _, step := range steps {
			got := mustChange(t, st, step.c)
			checkMode(t, st, step.name, got, step.want, base)
		}
		if g := modeOf(mustGetConv(t, st, "conv-2")); g != wantMode(ai, "", time.Time{}) {
			t.Errorf("changing conv-1 changed conv-2's mode to %+v", g)
		}
	})

	t.Run("ModeNotAmongFromIsConflict", func(t *testing.T) {
		st := s.store(t)
		base := conv("conv-1", "alice", 1)
		mustCreate(t, st, base)
		got, _, err := st.ChangeMode(t.Context(), change("conv-1", operator, "op-1", 10, waiting))
		wantIs(t, err, storage.ErrConflict, "takeover from waiting of a conversation in ai mode")
		checkMode(t, st, "after the refused change", got, wantMode(ai, "", time.Time{}), base)

		mustChange(t, st, change("conv-1", waiting, "", 20, ai))
		got, _, err = st.ChangeMode(t.Context(), change("conv-1", ai, "op-1", 30, operator))
		wantIs(t, err, storage.ErrConflict, "release of a conversation nobody holds")
		checkMode(t, st, "after the refused release", got, wantMode(waiting, "", at(20)), base)
	})

	t.Run("OnlyTheHolderReleasesOrRetakes", func(t *testing.T) {
		st := s.store(t)
		base := conv("conv-1", "alice", 1)
		mustCreate(t, st, base)
		mustChange(t, st, change("conv-1", operator, "op-1", 10, ai, waiting))
		held := wantMode(operator, "op-1", at(10))
		for _, c := range []struct {
			name string
			c    storage.ModeChange
		}{
			{"release by another operator", change("conv-1", ai, "op-2", 20, operator)},
			{"release without an operator", change("conv-1", ai, "", 20, operator)},
			{"takeover by another operator", change("conv-1", operator, "op-2", 20, ai, waiting, operator)},
			{"hand back to waiting by another operator", change("conv-1", waiting, "op-2", 20, operator)},
		} {
			got, _, err := st.ChangeMode(t.Context(), c.c)
			wantIs(t, err, storage.ErrConflict, c.name)
			checkMode(t, st, c.name+" (the holder must show)", got, held, base)
		}
	})

	t.Run("RetryIsAcceptedAndChangesNothing", func(t *testing.T) {
		st := s.store(t)
		base := conv("conv-1", "alice", 1)
		mustCreate(t, st, base)
		for _, step := range []struct {
			name    string
			c       storage.ModeChange
			changed bool
			want    modeState
		}{
			{"help request", change("conv-1", waiting, "", 10, ai), true, wantMode(waiting, "", at(10))},
			{"retried help request", change("conv-1", waiting, "", 11, ai), false, wantMode(waiting, "", at(10))},
			{"takeover", change("conv-1", operator, "op-1", 20, ai, waiting), true, wantMode(operator, "op-1", at(20))},
			{"retried takeover", change("conv-1", operator, "op-1", 20, ai, waiting), false, wantMode(operator, "op-1", at(20))},
			{"takeover retried later, From including operator", change("conv-1", operator, "op-1", 25, waiting, operator), false, wantMode(operator, "op-1", at(20))},
			{"release", change("conv-1", ai, "op-1", 30, operator), true, wantMode(ai, "", at(30))},
			{"retried release", change("conv-1", ai, "op-1", 31, operator), false, wantMode(ai, "", at(30))},
		} {
			got := mustChangeMode(t, st, step.c, step.changed)
			checkMode(t, st, step.name, got, step.want, base)
		}
		// A retried release once another operator holds it is refused.
		mustChange(t, st, change("conv-1", operator, "op-2", 40, ai))
		got, _, err := st.ChangeMode(t.Context(), change("conv-1", ai, "op-1", 31, operator))
		wantIs(t, err, storage.ErrConflict, "op-1's release retried after op-2 took over")
		checkMode(t, st, "after the late retry", got, wantMode(operator, "op-2", at(40)), base)
	})

	t.Run("IdenticalRacingChangesReportOneChange", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		const racers = 16
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			changes int
		)
		for i := range racers {
			wg.Go(func() {
				_, changed, err := st.ChangeMode(t.Context(), change("conv-1", operator, "op-1", 10+i, ai, waiting))
				if err != nil {
					t.Errorf("racer %d: %v", i, err)
				}
				if changed {
					mu.Lock()
					changes++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if changes != 1 {
			t.Fatalf("%d identical takeovers by one operator reported %d changes, want exactly 1", racers, changes)
		}
	})

	t.Run("OperatorNameGoesWithTheHolder", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		take := change("conv-1", operator, "op-1", 10, ai)
		take.OperatorName = "Olivia Ömer"
		got := mustChange(t, st, take)
		if got.OperatorName != "Olivia Ömer" || mustGetConv(t, st, "conv-1").OperatorName != "Olivia Ömer" {
			t.Errorf("after a takeover: returned name %q, stored %q; want %q", got.OperatorName, mustGetConv(t, st, "conv-1").OperatorName, "Olivia Ömer")
		}
		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{Mode: operator})
		if err != nil || len(page.Conversations) != 1 || page.Conversations[0].OperatorName != "Olivia Ömer" {
			t.Errorf("listing after a takeover: %+v, %v; want the operator's name", page.Conversations, err)
		}
		release := change("conv-1", ai, "op-1", 20, operator)
		release.OperatorName = "Olivia Ömer"
		if got := mustChange(t, st, release); got.OperatorName != "" || mustGetConv(t, st, "conv-1").OperatorName != "" {
			t.Errorf("after a release the name is %q, want it cleared", got.OperatorName)
		}
		long := change("conv-1", operator, "op-1", 30, ai)
		long.OperatorName = strings.Repeat("n", storage.MaxOperatorNameBytes+1)
		_, _, err = st.ChangeMode(t.Context(), long)
		wantIs(t, err, storage.ErrInvalid, "an operator name over MaxOperatorNameBytes")
	})

	t.Run("EndedIsConflict", func(t *testing.T) {
		st := s.store(t)
		base := conv("conv-1", "alice", 1)
		mustCreate(t, st, base)
		mustChange(t, st, change("conv-1", waiting, "", 10, ai))
		if err := st.EndConversation(t.Context(), "conv-1", at(20)); err != nil {
			t.Fatal(err)
		}
		base.Status, base.EndedAt = storage.StatusEnded, at(20)
		for _, c := range []storage.ModeChange{
			change("conv-1", operator, "op-1", 30, ai, waiting),
			change("conv-1", waiting, "", 30, waiting), // would be a retry if it were active
		} {
			got, _, err := st.ChangeMode(t.Context(), c)
			wantIs(t, err, storage.ErrConflict, fmt.Sprintf("ChangeMode to %q of an ended conversation", c.To))
			checkMode(t, st, "ended conversation", got, wantMode(waiting, "", at(10)), base)
		}
	})

	t.Run("UnknownIsNotFound", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		_, _, err := st.ChangeMode(t.Context(), change("conv-2", operator, "op-1", 10, ai))
		wantIs(t, err, storage.ErrNotFound, "ChangeMode of an unknown conversation")
		_, err = st.GetConversation(t.Context(), "conv-2")
		wantIs(t, err, storage.ErrNotFound, "GetConversation after ChangeMode of an unknown id")
	})

	t.Run("InvalidChangeIsInvalidAndNotApplied", func(t *testing.T) {
		st := s.store(t)
		base := conv("conv-1", "alice", 1)
		mustCreate(t, st, base)
		valid := change("conv-1", operator, "op-1", 10, ai)
		for _, tc := range []struct {
			name   string
			mutate func(*storage.ModeChange)
		}{
			{"empty ConversationID", func(c *storage.ModeChange) { c.ConversationID = "" }},
			{"no From", func(c *storage.ModeChange) { c.From = nil }},
			{"unknown From mode", func(c *storage.ModeChange) { c.From = []storage.Mode{ai, "paused"} }},
			{"unknown To mode", func(c *storage.ModeChange) { c.To = "human" }},
			{"zero At", func(c *storage.ModeChange) { c.At = time.Time{} }},
			{"operator mode without an operator", func(c *storage.ModeChange) { c.Operator = "" }},
		} {
			c := valid
			c.From = append([]storage.Mode(nil), valid.From...)
			tc.mutate(&c)
			_, _, err := st.ChangeMode(t.Context(), c)
			wantIs(t, err, storage.ErrInvalid, "ChangeMode with "+tc.name)
			if g := modeOf(mustGetConv(t, st, "conv-1")); g != wantMode(ai, "", time.Time{}) {
				t.Errorf("ChangeMode with %s changed the mode to %+v", tc.name, g)
			}
		}
		checkConv(t, "conversation after invalid changes", mustGetConv(t, st, "conv-1"), base)
		invalid := change("conv-unknown", operator, "", 10, ai)
		_, _, err := st.ChangeMode(t.Context(), invalid)
		wantIs(t, err, storage.ErrInvalid, "invalid ChangeMode of an unknown conversation (validation comes first)")
	})

	t.Run("RacingTakeoversHaveOneWinner", func(t *testing.T) {
		st := s.store(t)
		base := conv("conv-1", "alice", 1)
		mustCreate(t, st, base)
		mustChange(t, st, change("conv-1", waiting, "", 5, ai))
		const racers = 32
		type result struct {
			got storage.Conversation
			err error
		}
		results := make([]result, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				got, _, err := st.ChangeMode(t.Context(), change("conv-1", operator, fmt.Sprintf("op-%d", i), 10+i, ai, waiting))
				results[i] = result{got, err}
			})
		}
		wg.Wait()
		winner := -1
		for i, r := range results {
			if r.err == nil {
				if winner >= 0 {
					t.Errorf("op-%d and op-%d both took the conversation over", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("no takeover of %d won: first error %v", racers, results[0].err)
		}
		holder := fmt.Sprintf("op-%d", winner)
		checkMode(t, st, "winner's result", results[winner].got, wantMode(operator, holder, at(10+winner)), base)
		for i, r := range results {
			if i == winner {
				continue
			}
			if !errors.Is(r.err, storage.ErrConflict) {
				t.Errorf("op-%d's takeover: %v, want ErrConflict", i, r.err)
				continue
			}
			if r.got.Mode != operator || r.got.Operator != holder {
				t.Errorf("op-%d's refused takeover returned mode %q held by %q, want the winner %q", i, r.got.Mode, r.got.Operator, holder)
			}
		}
	})
}
