package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
)

const (
	writers          = 16
	messagesByWriter = 50
	sharedIDs        = 50
)

func (s suite) testConcurrency(t *testing.T) {
	t.Run("AppendsAreExactUnderConcurrency", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0))
		ctx := t.Context()

		// created[i] counts how many appends of shared id i reported created.
		var created [sharedIDs]atomic.Int32
		var stop atomic.Bool
		var writersWG, readersWG sync.WaitGroup
		// Distinct ids: every append must create.
		for w := range writers {
			writersWG.Go(func() {
				for i := range messagesByWriter {
					m := msg("conv-1", fmt.Sprintf("w%d-%d", w, i), 1+w*messagesByWriter+i)
					if _, ok, err := st.AppendMessage(ctx, m); err != nil || !ok {
						t.Errorf("AppendMessage(%q) = created %v, %v; want created, nil", m.ID, ok, err)
						return
					}
				}
			})
		}
		// The same ids from every goroutine: one create each, and every
		// other append returns the stored message.
		for w := range writers {
			writersWG.Go(func() {
				for i := range sharedIDs {
					m := msg("conv-1", fmt.Sprintf("shared-%d", i), 10_000+i)
					m.Text = fmt.Sprintf("sent by %d", w)
					stored, ok, err := st.AppendMessage(ctx, m)
					if err != nil {
						t.Errorf("AppendMessage(%q) by %d: %v", m.ID, w, err)
						return
					}
					if ok {
						created[i].Add(1)
					}
					if stored.ID != m.ID || stored.Role != m.Role || !sameTime(stored.CreatedAt, m.CreatedAt) {
						t.Errorf("AppendMessage(%q) returned %+v", m.ID, stored)
					}
				}
			})
		}
		// Readers page through the conversation while it grows, a bounded
		// number of times so they cannot starve the writers.
		for range 4 {
			readersWG.Go(func() {
				for range 10 {
					if stop.Load() {
						return
					}
					var last *storage.Message
					q := storage.MessageQuery{ConversationID: "conv-1", Limit: 37}
					for {
						page, err := st.ListMessages(ctx, q)
						if err != nil {
							t.Errorf("concurrent ListMessages: %v", err)
							return
						}
						for i := range page.Messages {
							m := page.Messages[i]
							if last != nil && msgKeyCmp(*last, m) >= 0 {
								t.Errorf("concurrent ListMessages: %q listed after %q", m.ID, last.ID)
								return
							}
							last = &m
						}
						if page.NextCursor == "" {
							break
						}
						q.Cursor = page.NextCursor
					}
				}
			})
		}
		writersWG.Wait()
		stop.Store(true)
		readersWG.Wait()

		for i := range sharedIDs {
			if n := created[i].Load(); n != 1 {
				t.Errorf("shared-%d: %d concurrent appends reported created, want exactly 1", i, n)
			}
		}
		// Every stored shared message is the one its creator sent, and every
		// id is listed once.
		pages := listMsgPages(t, st, storage.MessageQuery{ConversationID: "conv-1", Limit: storage.MaxPageSize}, 10)
		ids := slices.Concat(pages...)
		if want := writers*messagesByWriter + sharedIDs; len(ids) != want {
			t.Errorf("listed %d messages, want exactly %d", len(ids), want)
		}
		seen := make(map[string]bool, len(ids))
		for _, id := range ids {
			if seen[id] {
				t.Errorf("message %q listed twice", id)
			}
			seen[id] = true
		}
		c := mustGetConv(t, st, "conv-1")
		if !sameTime(c.UpdatedAt, at(10_000+sharedIDs-1)) {
			t.Errorf("UpdatedAt = %s after concurrent appends, want the newest message's %s", ms(c.UpdatedAt), ms(at(10_000+sharedIDs-1)))
		}
		if want := int64(writers*messagesByWriter + sharedIDs); c.Stats.MessageCount != want {
			t.Errorf("Stats.MessageCount = %d after concurrent appends, want exactly %d", c.Stats.MessageCount, want)
		}
	})

	t.Run("RacingAppendsOfOneIDWithDifferentRoles", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0))
		roles := []storage.Role{storage.RoleUser, storage.RoleAssistant}
		type result struct {
			role    storage.Role
			stored  storage.Message
			created bool
			err     error
		}
		results := make([]result, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				m := msg("conv-1", "contested", 10)
				m.Role = roles[w%2]
				stored, created, err := st.AppendMessage(t.Context(), m)
				results[w] = result{m.Role, stored, created, err}
			})
		}
		wg.Wait()
		winner := mustGetMsg(t, st, "conv-1", "contested")
		wins := 0
		for w, r := range results {
			switch {
			case r.created:
				wins++
				if r.err != nil || r.role != winner.Role {
					t.Errorf("writer %d: created with role %q, err %v; stored role is %q", w, r.role, r.err, winner.Role)
				}
			case r.role == winner.Role:
				if r.err != nil || r.stored.Role != winner.Role {
					t.Errorf("writer %d with the stored role: %v, role %q; want the stored message, nil", w, r.err, r.stored.Role)
				}
			default:
				wantIs(t, r.err, storage.ErrConflict, fmt.Sprintf("writer %d with role %q against stored role %q", w, r.role, winner.Role))
			}
		}
		if wins != 1 {
			t.Errorf("%d racing appends reported created, want exactly 1", wins)
		}
	})

	t.Run("RacingCreatesOfOneConversation", func(t *testing.T) {
		st := s.store(t)
		var wg sync.WaitGroup
		sameUser := make([]error, writers)
		users := make([]error, writers)
		for w := range writers {
			wg.Go(func() { sameUser[w] = st.CreateConversation(t.Context(), conv("retried", "alice", 1)) })
			wg.Go(func() { users[w] = st.CreateConversation(t.Context(), conv("contested", fmt.Sprintf("user-%d", w), 1)) })
		}
		wg.Wait()
		for w, err := range sameUser {
			if err != nil {
				t.Errorf("concurrent create of one conversation by its owner #%d: %v, want nil", w, err)
			}
		}
		owner := mustGetConv(t, st, "contested").UserID
		wins := 0
		for w, err := range users {
			switch {
			case err == nil:
				wins++
				if owner != fmt.Sprintf("user-%d", w) {
					t.Errorf("user-%d's create succeeded but the owner is %q", w, owner)
				}
			case !errors.Is(err, storage.ErrConflict):
				t.Errorf("user-%d's create: %v, want nil or ErrConflict", w, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d users created the same conversation id, want exactly 1", wins)
		}
		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{})
		if err != nil || len(page.Conversations) != 2 {
			t.Errorf("ListConversations after racing creates = %v, %v; want [contested retried]", convIDs(page.Conversations), err)
		}
	})
}
