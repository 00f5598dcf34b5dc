package storagetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/chatboxsdk/chatbox/storage"
)

// tiedConversations returns n conversations of user whose CreatedAt values
// tie in groups of three, with ids whose byte order differs from their
// numeric order ("c-10" < "c-9").
func tiedConversations(prefix, user string, n int) []storage.Conversation {
	cs := make([]storage.Conversation, n)
	for i := range n {
		cs[i] = conv(fmt.Sprintf("%s%d", prefix, i), user, i/3)
	}
	return cs
}

func (s suite) testListConversations(t *testing.T) {
	t.Run("EmptyStoreGivesEmptyPage", func(t *testing.T) {
		st := s.store(t)
		for _, q := range []storage.ConversationQuery{{}, {UserID: "alice"}, {Status: storage.StatusEnded}} {
			page, err := st.ListConversations(t.Context(), q)
			if err != nil || len(page.Conversations) != 0 || page.NextCursor != "" {
				t.Errorf("ListConversations(%+v) on an empty store = %d conversations, cursor %q, %v; want empty page",
					q, len(page.Conversations), page.NextCursor, err)
			}
		}
	})

	t.Run("NewestFirstWithTiesBrokenByID", func(t *testing.T) {
		st := s.store(t)
		cs := tiedConversations("c-", "alice", 14)
		mustCreate(t, st, shuffled(cs, 1)...)
		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: "alice", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := convIDs(page.Conversations), newestFirst(cs); !slices.Equal(got, want) {
			t.Fatalf("order = %v\nwant    %v", got, want)
		}
		if page.NextCursor != "" {
			t.Errorf("NextCursor = %q on the only page, want empty", page.NextCursor)
		}
		byID := make(map[string]storage.Conversation)
		for _, c := range cs {
			byID[c.ID] = c
		}
		for _, got := range page.Conversations {
			checkConv(t, "listed conversation", got, byID[got.ID])
		}
	})

	t.Run("OrderIgnoresActivityAndEnd", func(t *testing.T) {
		st := s.store(t)
		cs := []storage.Conversation{conv("old", "alice", 1), conv("mid", "alice", 2), conv("new", "alice", 3)}
		mustCreate(t, st, cs...)
		mustAppend(t, st, msg("old", "m1", 100))
		if err := st.EndConversation(t.Context(), "mid", at(200)); err != nil {
			t.Fatal(err)
		}
		page, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := convIDs(page.Conversations), []string{"new", "mid", "old"}; !slices.Equal(got, want) {
			t.Errorf("order after activity = %v, want %v (by CreatedAt, not UpdatedAt)", got, want)
		}
		for _, c := range page.Conversations {
			if c.ID == "old" && !sameTime(c.UpdatedAt, at(100)) {
				t.Errorf("listed UpdatedAt of %q = %s, want %s", c.ID, ms(c.UpdatedAt), ms(at(100)))
			}
			if c.ID == "mid" && (c.Status != storage.StatusEnded || !sameTime(c.EndedAt, at(200))) {
				t.Errorf("listed %q: Status %q, EndedAt %s; want ended at %s", c.ID, c.Status, ms(c.EndedAt), ms(at(200)))
			}
		}
	})

	t.Run("UserFilterListsOnlyThatOwner", func(t *testing.T) {
		st := s.store(t)
		// "ann" is a prefix of "anna": a filter must match whole ids.
		users := []string{"ann", "anna", "bob", "ANN"}
		var all []storage.Conversation
		owned := make(map[string][]storage.Conversation)
		for i := range 40 {
			u := users[i%len(users)]
			c := conv(fmt.Sprintf("c-%d", i), u, i)
			all = append(all, c)
			owned[u] = append(owned[u], c)
		}
		mustCreate(t, st, shuffled(all, 2)...)
		for _, u := range users {
			for _, limit := range []int{3, 100} {
				q := storage.ConversationQuery{UserID: u, Limit: limit}
				pages := listConvPages(t, st, q, 50)
				checkPages(t, fmt.Sprintf("user %q, limit %d", u, limit), pages, newestFirst(owned[u]), limit)
			}
		}
		pages := listConvPages(t, st, storage.ConversationQuery{UserID: "nobody"}, 5)
		checkPages(t, "user without conversations", pages, nil, 0)
	})

	t.Run("EmptyUserIDListsEveryOwner", func(t *testing.T) {
		st := s.store(t)
		var all []storage.Conversation
		for i := range 25 {
			all = append(all, conv(fmt.Sprintf("c-%d", i), fmt.Sprintf("user-%d", i%5), i/2))
		}
		mustCreate(t, st, shuffled(all, 3)...)
		pages := listConvPages(t, st, storage.ConversationQuery{Limit: 4}, 20)
		checkPages(t, "every owner, limit 4", pages, newestFirst(all), 4)
	})

	t.Run("StatusFilter", func(t *testing.T) {
		st := s.store(t)
		var all []storage.Conversation
		for i := range 60 {
			all = append(all, conv(fmt.Sprintf("c-%d", i), []string{"alice", "bob"}[i%2], i/4))
		}
		mustCreate(t, st, shuffled(all, 4)...)
		matching := func(user string, status storage.ConversationStatus) []storage.Conversation {
			var out []storage.Conversation
			for _, c := range all {
				if (user == "" || c.UserID == user) && (status == "" || c.Status == status) {
					out = append(out, c)
				}
			}
			return out
		}
		for i := range all {
			if i%3 == 0 {
				if err := st.EndConversation(t.Context(), all[i].ID, at(1000+i)); err != nil {
					t.Fatal(err)
				}
				all[i].Status = storage.StatusEnded
			}
		}
		for _, user := range []string{"", "alice", "bob"} {
			for _, status := range []storage.ConversationStatus{"", storage.StatusActive, storage.StatusEnded} {
				for _, limit := range []int{4, 7, 100} {
					q := storage.ConversationQuery{UserID: user, Status: status, Limit: limit}
					pages := listConvPages(t, st, q, 80)
					checkPages(t, fmt.Sprintf("%+v", q), pages, newestFirst(matching(user, status)), limit)
				}
			}
		}
	})

	t.Run("PaginationWithoutGapsOrDuplicates", func(t *testing.T) {
		st := s.store(t)
		cs := tiedConversations("c-", "alice", 230)
		mustCreate(t, st, shuffled(cs, 5)...)
		want := newestFirst(cs)
		for _, limit := range []int{1, 7, 10, 23, 50, 229, 230, 231, 500} {
			for _, user := range []string{"alice", ""} {
				q := storage.ConversationQuery{UserID: user, Limit: limit}
				pages := listConvPages(t, st, q, 240)
				checkPages(t, fmt.Sprintf("user %q, limit %d", user, limit), pages, want, limit)
			}
		}
	})

	t.Run("LimitIsClamped", func(t *testing.T) {
		st := s.store(t)
		cs := tiedConversations("c-", "alice", storage.MaxPageSize+10)
		mustCreate(t, st, cs...)
		want := newestFirst(cs)
		for _, limit := range []int{0, -1, storage.MaxPageSize + 1, 1 << 30} {
			q := storage.ConversationQuery{UserID: "alice", Limit: limit}
			pages := listConvPages(t, st, q, len(cs)+1)
			checkPages(t, fmt.Sprintf("limit %d", limit), pages, want, limit)
		}
	})

	t.Run("MalformedCursorIsInvalid", func(t *testing.T) {
		st := s.store(t)
		mustCreate(t, st, tiedConversations("c-", "alice", 5)...)
		for _, cur := range badCursors() {
			for _, user := range []string{"", "alice"} {
				_, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: user, Cursor: cur})
				wantIs(t, err, storage.ErrInvalid, fmt.Sprintf("ListConversations(user %q, cursor %q)", user, cur))
			}
		}
	})

	t.Run("CursorSurvivesNewConversations", func(t *testing.T) {
		st := s.store(t)
		cs := tiedConversations("c-", "alice", 20)
		for i := range cs {
			cs[i].CreatedAt = at(100 + i)
		}
		mustCreate(t, st, cs...)
		first, err := st.ListConversations(t.Context(), storage.ConversationQuery{UserID: "alice", Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if first.NextCursor == "" {
			t.Fatal("first page of 5 out of 20 has no NextCursor")
		}
		// Newer ones sort before the cursor and must not shift the rest;
		// an older one sorts after it and must appear.
		newer := []storage.Conversation{conv("new-1", "alice", 500), conv("new-2", "alice", 501)}
		older := conv("older", "alice", 0)
		mustCreate(t, st, append(newer, older)...)
		rest := listConvPages(t, st, storage.ConversationQuery{UserID: "alice", Limit: 5, Cursor: first.NextCursor}, 10)
		want := append(newestFirst(cs)[5:], "older")
		checkPages(t, "pages after the cursor", rest, want, 5)
	})
}
