package storagetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
)

// sorts lists every ConversationSort with its name.
var sorts = []struct {
	name string
	sort storage.ConversationSort
}{
	{"Created", storage.SortByCreated},
	{"Updated", storage.SortByUpdated},
	{"Messages", storage.SortByMessages},
	{"Tokens", storage.SortByTokens},
}

// sortKeyCmp compares a and b by sort, ties broken by ID, ascending.
func sortKeyCmp(sort storage.ConversationSort) func(a, b storage.Conversation) int {
	return func(a, b storage.Conversation) int {
		var c int
		switch sort {
		case storage.SortByUpdated:
			c = a.UpdatedAt.Compare(b.UpdatedAt)
		case storage.SortByMessages:
			c = cmp.Compare(a.Stats.MessageCount, b.Stats.MessageCount)
		case storage.SortByTokens:
			c = cmp.Compare(tokens(a), tokens(b))
		default:
			c = a.CreatedAt.Compare(b.CreatedAt)
		}
		return cmp.Or(c, strings.Compare(a.ID, b.ID))
	}
}

func tokens(c storage.Conversation) int64 {
	return c.Stats.Usage.InputTokens + c.Stats.Usage.OutputTokens
}

// listed returns the ids of cs in the order of sort and direction.
func listed(cs []storage.Conversation, sort storage.ConversationSort, ascending bool) []string {
	sorted := slices.Clone(cs)
	by := sortKeyCmp(sort)
	slices.SortFunc(sorted, func(a, b storage.Conversation) int {
		if ascending {
			return by(a, b)
		}
		return by(b, a)
	})
	return convIDs(sorted)
}

func (s suite) testConversationQuery(t *testing.T) {
	t.Run("EveryFilterAlone", func(t *testing.T) {
		f := newQueryFixture(t, s.store(t))
		fv := filterValues
		var qs []storage.ConversationQuery
		for _, u := range fv.users[1:] {
			qs = append(qs, storage.ConversationQuery{UserID: u})
		}
		for _, st := range fv.statuses[1:] {
			qs = append(qs, storage.ConversationQuery{Status: st})
		}
		for _, m := range fv.modes[1:] {
			qs = append(qs, storage.ConversationQuery{Mode: m})
		}
		for _, m := range fv.models[1:] {
			qs = append(qs, storage.ConversationQuery{Model: m})
		}
		for _, a := range fv.assisted[1:] {
			qs = append(qs, storage.ConversationQuery{OperatorAssisted: a})
		}
		for _, r := range fv.ranges[1:] {
			qs = append(qs, storage.ConversationQuery{CreatedFrom: r[0], CreatedBefore: r[1]})
		}
		qs = append(qs, storage.ConversationQuery{})
		for _, q := range qs {
			for _, limit := range []int{4, 100} {
				q.Limit, q.WithTotal = limit, limit == 4
				f.checkListing(t, q)
			}
		}
	})

	t.Run("FiltersCombined", func(t *testing.T) {
		f := newQueryFixture(t, s.store(t))
		fv := filterValues
		r := rand.New(rand.NewPCG(7, 7))
		pick := func(n int) int { return r.IntN(n) }
		all := storage.ConversationQuery{UserID: "ann", Status: storage.StatusActive, Mode: ai, Model: "model-a",
			OperatorAssisted: ptr(false), CreatedFrom: at(10), CreatedBefore: at(100)}
		qs := []storage.ConversationQuery{
			all,
			{Mode: operator, Status: storage.StatusEnded},
			{Mode: waiting, UserID: "bob"},
			{OperatorAssisted: ptr(true), Mode: ai},
			{Model: "model-b", CreatedFrom: at(40)},
		}
		for range 40 {
			rg := fv.ranges[pick(len(fv.ranges))]
			qs = append(qs, storage.ConversationQuery{
				UserID: fv.users[pick(len(fv.users))], Status: fv.statuses[pick(len(fv.statuses))],
				Mode: fv.modes[pick(len(fv.modes))], Model: fv.models[pick(len(fv.models))],
				OperatorAssisted: fv.assisted[pick(len(fv.assisted))], CreatedFrom: rg[0], CreatedBefore: rg[1],
				Sort: sorts[pick(len(sorts))].sort, Ascending: pick(2) == 1,
			})
		}
		for i, q := range qs {
			q.Limit, q.WithTotal = 1+i%5, i%2 == 0
			f.checkListing(t, q)
		}
		if len(f.matching(all)) == 0 {
			t.Fatal("the fixture has no conversation matching every filter at once: the test proves nothing")
		}
	})

	t.Run("EverySortBothDirectionsWithTiesBrokenByID", func(t *testing.T) {
		f := newQueryFixture(t, s.store(t))
		for _, so := range sorts {
			for _, asc := range []bool{false, true} {
				for _, limit := range []int{1, 7, 36, 100} {
					f.checkListing(t, storage.ConversationQuery{Sort: so.sort, Ascending: asc, Limit: limit})
				}
				f.checkListing(t, storage.ConversationQuery{Sort: so.sort, Ascending: asc, Limit: 3, Status: storage.StatusActive, WithTotal: true})
			}
		}
	})

	t.Run("CursorIsTiedToSortAndDirection", func(t *testing.T) {
		f := newQueryFixture(t, s.store(t))
		type listing struct {
			sort storage.ConversationSort
			asc  bool
		}
		cursors := make(map[listing]string)
		for _, so := range sorts {
			for _, asc := range []bool{false, true} {
				page, err := f.st.ListConversations(t.Context(), storage.ConversationQuery{Sort: so.sort, Ascending: asc, Limit: 2})
				if err != nil || page.NextCursor == "" {
					t.Fatalf("ListConversations(sort %s, ascending %v): cursor %q, %v", so.name, asc, page.NextCursor, err)
				}
				cursors[listing{so.sort, asc}] = page.NextCursor
			}
		}
		for from, cur := range cursors {
			for to := range cursors {
				if to == from {
					continue
				}
				_, err := f.st.ListConversations(t.Context(), storage.ConversationQuery{Sort: to.sort, Ascending: to.asc, Cursor: cur})
				wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("cursor of sort %s ascending %v used with sort %s ascending %v",
					sorts[from.sort].name, from.asc, sorts[to.sort].name, to.asc))
			}
		}
		for _, cur := range badCursors() {
			for _, so := range sorts {
				_, err := f.st.ListConversations(t.Context(), storage.ConversationQuery{Sort: so.sort, Cursor: cur})
				wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("sort %s with cursor %q", so.name, cur))
			}
		}
	})

	t.Run("UnknownSortOrModeIsInvalid", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		_, err := st.ListConversations(t.Context(), storage.ConversationQuery{Sort: storage.SortByTokens + 1})
		wantIs(t, err, storage.ErrInvalid, "ListConversations with an unknown sort")
		_, err = st.ListConversations(t.Context(), storage.ConversationQuery{Sort: -1})
		wantIs(t, err, storage.ErrInvalid, "ListConversations with a negative sort")
		_, err = st.ListConversations(t.Context(), storage.ConversationQuery{Mode: "paused"})
		wantIs(t, err, storage.ErrInvalid, "ListConversations with an unknown mode")
	})

	t.Run("TotalIsMinusOneUnlessAsked", func(t *testing.T) {
		st := s.store(t)
		for _, q := range []storage.ConversationQuery{{}, {WithTotal: true}} {
			page, err := st.ListConversations(t.Context(), q)
			want := int64(-1)
			if q.WithTotal {
				want = 0
			}
			if err != nil || page.Total != want {
				t.Errorf("ListConversations(WithTotal %v) on an empty store: Total %d, %v; want %d", q.WithTotal, page.Total, err, want)
			}
		}
	})

	t.Run("UnchangedConversationsListOnceWhileKeysMove", func(t *testing.T) {
		st := s.store(t)
		var cs []storage.Conversation
		for i := range 30 {
			c := conv(fmt.Sprintf("c-%d", i), "alice", i)
			cs = append(cs, c)
		}
		mustCreate(t, st, cs...)
		for i := range 30 {
			for j := range i % 4 {
				mustAppend(t, st, msg(cs[i].ID, fmt.Sprintf("m-%d", j), 100+j))
			}
		}
		for _, so := range sorts {
			for _, asc := range []bool{false, true} {
				q := storage.ConversationQuery{Sort: so.sort, Ascending: asc, Limit: 4}
				seen := make(map[string]int)
				moved := make(map[string]bool)
				for page := 0; ; page++ {
					if page > 40 {
						t.Fatalf("sort %s: still returning a cursor after 40 pages", so.name)
					}
					p, err := st.ListConversations(t.Context(), q)
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range p.Conversations {
						seen[c.ID]++
					}
					if p.NextCursor == "" {
						break
					}
					q.Cursor = p.NextCursor
					// Move one conversation's keys between pages.
					id := cs[(page*7+int(so.sort)*3)%30].ID
					mustAppend(t, st, msg(id, fmt.Sprintf("move-%d-%d-%v", so.sort, page, asc), 5000+page))
					moved[id] = true
				}
				for _, c := range cs {
					if !moved[c.ID] && seen[c.ID] != 1 {
						t.Errorf("sort %s ascending %v: %s, whose keys did not change, listed %d times while others moved", so.name, asc, c.ID, seen[c.ID])
					}
				}
			}
		}
	})
}
