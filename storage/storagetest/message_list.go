package storagetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
)

// tiedMessages returns n messages of convID whose CreatedAt values tie in
// groups of four, with ids whose byte order differs from their numeric
// order, alternating user messages and assistant replies.
func tiedMessages(convID string, n int) []storage.Message {
	ms := make([]storage.Message, n)
	for i := range n {
		id := fmt.Sprintf("m-%d", i)
		if i%2 == 1 {
			ms[i] = reply(convID, id, i/4)
		} else {
			ms[i] = msg(convID, id, i/4)
		}
	}
	return ms
}

func orderName(o storage.Order) string {
	if o == storage.Descending {
		return "Descending"
	}
	return "Ascending"
}

func (s suite) testListMessages(t *testing.T) {
	orders := []storage.Order{storage.Ascending, storage.Descending}

	t.Run("ConversationWithoutMessagesGivesEmptyPage", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		for _, o := range orders {
			page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1", Order: o})
			if err != nil || len(page.Messages) != 0 || page.NextCursor != "" {
				t.Errorf("ListMessages(%s) = %d messages, cursor %q, %v; want an empty page", orderName(o), len(page.Messages), page.NextCursor, err)
			}
		}
	})

	t.Run("UnknownConversationIsNotFound", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 1))
		mustAppend(t, st, msg("conv-1", "m1", 2))
		for _, o := range orders {
			_, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-2", Order: o})
			wantIs(t, err, storage.ErrNotFound, "ListMessages(unknown conversation, "+orderName(o)+")")
		}
	})

	t.Run("EmptyConversationIDIsInvalid", func(t *testing.T) {
		st := s.store(t)
		_, err := st.ListMessages(t.Context(), storage.MessageQuery{})
		wantIs(t, err, storage.ErrInvalid, "ListMessages without ConversationID")
	})

	t.Run("OrderedByCreatedAtWithTiesBrokenByID", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0))
		ms := tiedMessages("conv-1", 23)
		mustAppend(t, st, shuffled(ms, 6)...)
		byID := make(map[string]storage.Message)
		for _, m := range ms {
			byID[m.ID] = m
		}
		for _, o := range orders {
			page, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1", Order: o, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := msgIDs(page.Messages), inOrder(ms, o); !slices.Equal(got, want) {
				t.Fatalf("%s order = %v\nwant %v", orderName(o), got, want)
			}
			if page.NextCursor != "" {
				t.Errorf("%s: NextCursor = %q on the only page, want empty", orderName(o), page.NextCursor)
			}
			for _, got := range page.Messages {
				checkMsg(t, "listed message", got, byID[got.ID])
			}
		}
	})

	t.Run("ListsOnlyThatConversation", func(t *testing.T) {
		st := s.store(t)
		// "c" is a prefix of "c1": a filter must match whole ids.
		convs := []string{"c", "c1", "c2"}
		owned := make(map[string][]storage.Message)
		var all []storage.Message
		for i, id := range convs {
			mustCreate(t, st, conv(id, "alice", i))
		}
		for i := range 45 {
			c := convs[i%len(convs)]
			m := msg(c, fmt.Sprintf("m-%d", i/len(convs)), i)
			owned[c] = append(owned[c], m)
			all = append(all, m)
		}
		mustAppend(t, st, shuffled(all, 7)...)
		for _, c := range convs {
			for _, o := range orders {
				q := storage.MessageQuery{ConversationID: c, Order: o, Limit: 4}
				checkPages(t, fmt.Sprintf("%q %s", c, orderName(o)), listMsgPages(t, st, q, 20), inOrder(owned[c], o), 4)
			}
		}
	})

	t.Run("PaginationWithoutGapsOrDuplicates", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0))
		n := s.pagedMessages
		ms := tiedMessages("conv-1", n)
		mustAppend(t, st, shuffled(ms, 8)...)
		for _, o := range orders {
			want := inOrder(ms, o)
			for _, limit := range []int{1, 7, min(50, n), n / 3, n/2 - 1, n / 2, n - 1, n} {
				q := storage.MessageQuery{ConversationID: "conv-1", Order: o, Limit: limit}
				checkPages(t, fmt.Sprintf("%s, limit %d", orderName(o), limit), listMsgPages(t, st, q, n+10), want, limit)
			}
			t.Run("LimitIsClamped/"+orderName(o), func(t *testing.T) {
				for _, limit := range []int{0, -1, storage.MaxPageSize + 1, 1 << 30} {
					q := storage.MessageQuery{ConversationID: "conv-1", Order: o, Limit: limit}
					checkPages(t, fmt.Sprintf("limit %d", limit), listMsgPages(t, st, q, 30), want, limit)
				}
			})
		}
	})

	t.Run("MalformedCursorIsInvalid", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, conv("conv-1", "alice", 0))
		mustAppend(t, st, tiedMessages("conv-1", 5)...)
		for _, cur := range badCursors() {
			for _, o := range orders {
				_, err := st.ListMessages(t.Context(), storage.MessageQuery{ConversationID: "conv-1", Order: o, Cursor: cur})
				wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("ListMessages(%s, cursor %q)", orderName(o), cur))
			}
		}
	})

	t.Run("CursorSurvivesNewMessages", func(t *testing.T) {
		for _, o := range orders {
			t.Run(orderName(o), func(t *testing.T) {
				st := s.store(t)
				mustCreate(t, st, conv("conv-1", "alice", 0))
				ms := make([]storage.Message, 30)
				for i := range ms {
					ms[i] = msg("conv-1", fmt.Sprintf("m-%d", i), 100+i)
				}
				mustAppend(t, st, ms...)
				q := storage.MessageQuery{ConversationID: "conv-1", Order: o, Limit: 10}
				first, err := st.ListMessages(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				if first.NextCursor == "" {
					t.Fatal("first page of 10 out of 30 has no NextCursor")
				}
				// A newer and an older message: one sorts before the cursor
				// and must not shift the rest, the other after it and must
				// appear.
				newer, older := msg("conv-1", "newer", 500), msg("conv-1", "older", 0)
				mustAppend(t, st, newer, older)
				want := inOrder(ms, o)[10:]
				if o == storage.Ascending {
					want = append(want, "newer")
				} else {
					want = append(want, "older")
				}
				q.Cursor = first.NextCursor
				checkPages(t, "pages after the cursor", listMsgPages(t, st, q, 10), want, 10)
			})
		}
	})
}
