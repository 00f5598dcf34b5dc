package admin_test

import (
	"cmp"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/admin"
	"github.com/chatboxsdk/chatbox/storage"
)

// tenThousand creates 10,000 conversations with many ties on every sort
// key: three share each creation second, message counts take four values
// and token counts fourteen.
func tenThousand(f *fixture) {
	for i := range 10_000 {
		id := cid(i)
		created := t0.Add(time.Duration(i/3) * time.Second)
		f.conv(storage.Conversation{ID: id, UserID: fmt.Sprintf("u-%d", i%7), CreatedAt: created})
		if i%4 == 0 {
			for j := range i%3 + 1 {
				f.msg(storage.Message{ID: fmt.Sprintf("q%d", j), ConversationID: id, Role: storage.RoleUser,
					CreatedAt: created.Add(time.Minute + time.Duration(j)*time.Second)})
			}
		}
		if i%8 == 0 {
			f.reply(id, "r", created.Add(2*time.Minute), time.Second, int64(i%13), 1)
		}
	}
}

// sortKey returns what a listing is ordered by.
func sortKey(sort string, c admin.Conversation) int64 {
	switch sort {
	case "created":
		return c.CreatedAt.UnixNano()
	case "messages":
		return c.Stats.MessageCount
	case "tokens":
		return c.Stats.InputTokens + c.Stats.OutputTokens
	}
	return c.UpdatedAt.UnixNano()
}

// walk pages through a listing and checks that every page reports total
// and that the order holds across pages; it returns the ids seen.
func walk(t *testing.T, f *fixture, query, sort string, asc bool, wantTotal int) []string {
	t.Helper()
	var seen []string
	var prev *admin.Conversation
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > wantTotal+1 {
			t.Fatal("the listing does not end")
		}
		target := "/conversations?" + query
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		var list admin.ConversationList
		f.getOK(t, target, &list)
		if list.Total != int64(wantTotal) {
			t.Fatalf("page %d: total %d, want %d", pages, list.Total, wantTotal)
		}
		for _, c := range list.Conversations {
			if prev != nil {
				d := cmp.Or(cmp.Compare(sortKey(sort, *prev), sortKey(sort, c)), cmp.Compare(prev.ID, c.ID))
				if (asc && d >= 0) || (!asc && d <= 0) {
					t.Fatalf("page %d: %s (%d) after %s (%d) breaks the order", pages,
						c.ID, sortKey(sort, c), prev.ID, sortKey(sort, *prev))
				}
			}
			seen = append(seen, c.ID)
			prev = &c
		}
		if list.NextCursor == "" {
			return seen
		}
		cursor = list.NextCursor
	}
}

// checkComplete fails unless got holds every id of want exactly once.
func checkComplete(t *testing.T, got []string, want map[string]bool) {
	t.Helper()
	seen := make(map[string]bool, len(got))
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s listed twice", id)
		}
		if !want[id] {
			t.Fatalf("%s listed but does not match", id)
		}
		seen[id] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("listed %d conversations, want %d", len(seen), len(want))
	}
}

func TestPagingTenThousandConversations(t *testing.T) {
	f := newFixture(t, nil)
	tenThousand(f)
	all := make(map[string]bool, 10_000)
	u3 := make(map[string]bool)
	for i := range 10_000 {
		all[cid(i)] = true
		if i%7 == 3 {
			u3[cid(i)] = true
		}
	}
	for _, sort := range []string{"created", "updated", "messages", "tokens"} {
		for _, order := range []string{"desc", "asc"} {
			t.Run(sort+"/"+order, func(t *testing.T) {
				t.Parallel() // the Handler serves concurrent requests
				q := "limit=500&sort=" + sort + "&order=" + order
				checkComplete(t, walk(t, f, q, sort, order == "asc", len(all)), all)
			})
		}
	}
	t.Run("filtered/default order", func(t *testing.T) {
		t.Parallel()
		checkComplete(t, walk(t, f, "user=u-3&limit=37", "updated", false, len(u3)), u3)
	})
	t.Run("default page size", func(t *testing.T) {
		t.Parallel()
		var list admin.ConversationList
		f.getOK(t, "/conversations", &list)
		if len(list.Conversations) != storage.DefaultPageSize || list.Total != 10_000 {
			t.Fatalf("%d conversations, total %d", len(list.Conversations), list.Total)
		}
	})
}
